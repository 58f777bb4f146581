"""Text formatting as Telegram parses it: HTML, MarkdownV2 and legacy Markdown into plain text plus
entities, and the ``bot_command`` entity a client adds to a leading /command.

Offsets and lengths are UTF-16 code units, as in the Bot API. Errors carry Telegram's wording so that
a bot which sends unescaped user input fails here the way it would in production.
"""
from __future__ import annotations

import html
import re

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


class EntityParseError(ValueError):
    pass


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[dict]:
    match = _COMMAND_RE.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}]


def parse(text: str, parse_mode: str | None) -> tuple[str, list[dict]]:
    """Return (plain text, entities) for ``parse_mode`` (None, "HTML", "MarkdownV2", "Markdown")."""
    mode = (parse_mode or "").lower()
    if not mode:
        return text, []
    if mode == "html":
        return _HtmlParser(text).run()
    if mode == "markdownv2":
        return _MarkdownParser(text, v2=True).run()
    if mode == "markdown":
        return _MarkdownParser(text, v2=False).run()
    raise EntityParseError(f"Unsupported parse_mode {parse_mode!r}")


class _Builder:
    """Accumulates plain text and tracks the UTF-16 position for entity offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.entities: list[dict] = []

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.pos += utf16_len(chunk)

    def entity(self, kind: str, start: int, **extra: str) -> None:
        if self.pos > start:  # Telegram drops empty entities
            self.entities.append({"type": kind, "offset": start, "length": self.pos - start, **extra})

    def result(self) -> tuple[str, list[dict]]:
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), self.entities


_HTML_KINDS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "code": "code", "pre": "pre",
    "a": "text_link", "tg-spoiler": "spoiler", "span": "spoiler", "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY_RE = re.compile(r"&(?:[a-zA-Z]+|#[0-9]+|#x[0-9a-fA-F]+);")
_HTML_START_RE = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))*)\s*>")
_HTML_ATTR_RE = re.compile(r"([a-zA-Z-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))")


class _HtmlParser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.out = _Builder()
        self.stack: list[tuple[str, int, dict[str, str]]] = []

    def _byte_offset(self, index: int) -> int:
        return len(self.src[:index].encode())

    def run(self) -> tuple[str, list[dict]]:
        src, i = self.src, 0
        while i < len(src):
            char = src[i]
            if char == "&":
                match = _HTML_ENTITY_RE.match(src, i)
                decoded = html.unescape(match.group()) if match else "&"
                # Unknown named entities stay literal, as Telegram keeps them.
                if match and decoded != match.group():
                    self.out.add(decoded)
                    i = match.end()
                else:
                    self.out.add("&")
                    i += 1
            elif char == "<":
                i = self._end_tag(i) if src.startswith("</", i) else self._start_tag(i)
            else:
                nxt = min((p for p in (src.find("<", i), src.find("&", i)) if p >= 0), default=len(src))
                self.out.add(src[i:nxt])
                i = nxt
        if self.stack:
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"')
        return self.out.result()

    def _start_tag(self, i: int) -> int:
        match = _HTML_START_RE.match(self.src, i)
        name = (match.group(1) if match else re.match(r"<([a-zA-Z0-9-]*)", self.src[i:]).group(1)).lower()
        if not match or name not in _HTML_KINDS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {self._byte_offset(i)}')
        attrs = {a.group(1).lower(): html.unescape(next(g for g in a.groups()[1:] if g is not None))
                 for a in _HTML_ATTR_RE.finditer(match.group(2))}
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {self._byte_offset(i)}')
        self.stack.append((name, self.out.pos, attrs))
        return match.end()

    def _end_tag(self, i: int) -> int:
        end = self.src.find(">", i)
        if end < 0:
            raise EntityParseError(f"Unclosed end tag at byte offset {self._byte_offset(i)}")
        name = self.src[i + 2:end].strip().lower()
        if not self.stack:
            raise EntityParseError(f'Unexpected end tag at byte offset {self._byte_offset(i)}')
        open_name, start, attrs = self.stack.pop()
        if name != open_name:
            raise EntityParseError(f'Unmatched end tag at byte offset {self._byte_offset(i)}, expected '
                                   f'"</{open_name}>", found "</{name}>"')
        extra = {}
        if name == "a":
            extra["url"] = attrs.get("href", "")
        elif name == "tg-emoji":
            extra["custom_emoji_id"] = attrs.get("emoji-id", "")
        elif name == "code" and attrs.get("class", "").startswith("language-"):
            extra["language"] = attrs["class"].removeprefix("language-")
        self.out.entity(_HTML_KINDS[name], start, **extra)
        return end + 1


_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_V2_MARKERS = (("||", "spoiler"), ("__", "underline"), ("*", "bold"), ("_", "italic"), ("~", "strikethrough"))
_V1_MARKERS = (("*", "bold"), ("_", "italic"))
_LINK_AHEAD_RE = re.compile(r"\[[^\]]*\]\(")


class _MarkdownParser:
    def __init__(self, source: str, *, v2: bool) -> None:
        self.src = source
        self.v2 = v2
        self.out = _Builder()
        self.stack: list[tuple[str, int, int]] = []  # marker, utf-16 start, source index

    def _byte_offset(self, index: int) -> int:
        return len(self.src[:index].encode())

    def run(self) -> tuple[str, list[dict]]:
        src, i = self.src, 0
        markers = _V2_MARKERS if self.v2 else _V1_MARKERS
        while i < len(src):
            char = src[i]
            if char == "\\" and i + 1 < len(src) and (self.v2 or src[i + 1] in "_*`["):
                self.out.add(src[i + 1])
                i += 2
                continue
            if char == "`":
                i = self._code(i)
                continue
            marker = next((m for m in markers if src.startswith(m[0], i)), None)
            # Legacy Markdown does not nest: inside an entity, other markers are plain text.
            if marker and (self.v2 or not self.stack or self.stack[-1][0] == marker[0]):
                self._toggle(marker, i)
                i += len(marker[0])
                continue
            if char == "[" and _LINK_AHEAD_RE.match(src, i):
                self.stack.append(("[", self.out.pos, i))
                i += 1
                continue
            if char == "]" and self.stack and self.stack[-1][0] == "[":
                i = self._link_end(i)
                continue
            if self.v2 and char in _V2_RESERVED:
                raise EntityParseError(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")
            self.out.add(char)
            i += 1
        if self.stack:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {self._byte_offset(self.stack[-1][2])}")
        return self.out.result()

    def _toggle(self, marker: tuple[str, str], i: int) -> None:
        open_ = next((k for k in range(len(self.stack) - 1, -1, -1) if self.stack[k][0] == marker[0]), None)
        if open_ is None:
            self.stack.append((marker[0], self.out.pos, i))
            return
        if open_ != len(self.stack) - 1:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {self._byte_offset(self.stack[-1][2])}")
        _, start, _ = self.stack.pop()
        self.out.entity(marker[1], start)

    def _code(self, i: int) -> int:
        fence = "```" if self.src.startswith("```", i) else "`"
        end = self.src.find(fence, i + len(fence))
        if end < 0:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {self._byte_offset(i)}")
        body = self.src[i + len(fence):end]
        language = ""
        if fence == "```" and "\n" in body:
            language, body = body.split("\n", 1)
        start = self.out.pos
        self.out.add(re.sub(r"\\([`\\])", r"\1", body) if self.v2 else body)
        self.out.entity("pre" if fence == "```" else "code", start, **({"language": language} if language else {}))
        return end + len(fence)

    def _link_end(self, i: int) -> int:
        _, start, _ = self.stack.pop()
        close = self.src.find(")", i + 2)
        if close < 0:
            raise EntityParseError(f"Can't find end of a URL at byte offset {self._byte_offset(i + 1)}")
        self.out.entity("text_link", start, url=self.src[i + 2:close])
        return close + 1
