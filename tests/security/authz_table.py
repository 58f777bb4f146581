"""The one table the authorization matrix test is generated from (tests/security/test_authz_matrix.py).

Each entry is something a person can do in the chat: a command, a button verb, or text/a file typed while the
chat waits for input of some kind. ``allow`` says which roles get through, and where: ``OWN`` is a unit in the
role's scope (the one the role is for), ``OTHER`` a unit outside it; in a group chat everything is refused.
"Gets through" means the authorization let the action reach the service: the service may still answer that
the self-assessment is incomplete or the explanation round closed. Every other case must be refused, with
nothing written. The test fails when the bot has a command, verb or message handler the table lacks.

Args of button verbs are placeholders filled per unit: ``U`` the unit, ``YN``/``AO``/``TY`` the slot of a
yes/no, all-of and typed item of its block (``HELD``: all
the all-of item's conditions marked held), ``TY`` is a ratio (two counts); ``IT`` an item code of area 1, ``AR`` its area.
"""
from __future__ import annotations

from dataclasses import dataclass, field

OWN, OTHER = "own", "other"
ROLES = ("admin", "officer", "unit_leader", "block_appraiser", "district_appraiser", "province_leader",
         "no_role", "removed")
# The grants each role joins with (role, unit, block); "removed" joins as an officer and is then removed.
GRANTS = {"admin": ("admin", None, None), "officer": ("officer", "SNV", None),
          "unit_leader": ("unit_leader", "SNV", None), "block_appraiser": ("appraiser", None, "so"),
          "district_appraiser": ("appraiser", "H01", "xa"), "province_leader": ("province_leader", None, None),
          "removed": ("officer", "SNV", None)}
# The unit each role acts on in its own scope and outside it (province-wide roles cover both).
UNITS = {"admin": ("SNV", "X0101"), "officer": ("SNV", "STC"), "unit_leader": ("SNV", "STC"),
         "block_appraiser": ("SNV", "X0101"), "district_appraiser": ("X0101", "X0201"),
         "province_leader": ("SNV", "X0101"), "no_role": ("SNV", "X0101"), "removed": ("SNV", "STC")}

EVERYWHERE = frozenset({OWN, OTHER})
ONLY_OWN = frozenset({OWN})
MEMBERS = {r: EVERYWHERE for r in ROLES if r not in ("no_role", "removed")}
UNIT_PEOPLE = {"officer": ONLY_OWN, "unit_leader": ONLY_OWN}
APPRAISERS = {"block_appraiser": ONLY_OWN, "district_appraiser": ONLY_OWN}
# The self-assessment screens: the unit's own people, and the administrator (VIEW_UNIT + ADMINISTER).
WORKSPACE = UNIT_PEOPLE | {"admin": EVERYWHERE}


@dataclass(frozen=True)
class Entry:
    kind: str  # "command", "verb" or "input" (typed text or a file while the chat waits)
    name: str
    phase: str  # "assessment" (self-assessment open), "appraisal" (round 1 open) or "explanation"
    allow: dict[str, frozenset[str]]
    args: tuple[str, ...] = ()  # a verb's callback arguments; a command's arguments
    state: dict = field(default_factory=dict)  # an input's chat state (placeholders as for args)
    send: str = "text"  # an input: "text" or "file"
    text: str = "5"
    unit_free: bool = False  # the action names no unit: OWN and OTHER are the same case

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"


def _cmd(name: str, allow, *args: str, phase: str = "assessment", unit_free: bool = True) -> Entry:
    return Entry("command", name, phase, allow, args, unit_free=unit_free)


def _verb(name: str, allow, *args: str, phase: str = "assessment") -> Entry:
    return Entry("verb", name, phase, allow, args, unit_free="U" not in args)


def _input(name: str, allow, state: dict, *, phase: str = "assessment", send: str = "text", text: str = "5",
           unit_free: bool = False) -> Entry:
    return Entry("input", name, phase, allow, state=state, send=send, text=text, unit_free=unit_free)


TABLE: list[Entry] = [
    # Commands. /start without a code greets members and tells others whom to ask; /result and /ranking name
    # a unit or block of the own scope or another; the rest act on the person's own units or none.
    _cmd("start", MEMBERS),
    _cmd("help", MEMBERS),
    _cmd("lang", MEMBERS, "en"),
    _cmd("assess", UNIT_PEOPLE),
    _cmd("status", UNIT_PEOPLE),
    _cmd("appraise", APPRAISERS, phase="appraisal"),
    _cmd("explain", UNIT_PEOPLE, phase="explanation"),
    # Unit leaders see their block's ranking once published, where the period allows: not in these phases.
    _cmd("ranking", {"admin": EVERYWHERE, "province_leader": EVERYWHERE}),
    _cmd("result", UNIT_PEOPLE | {"admin": EVERYWHERE, "province_leader": EVERYWHERE} | APPRAISERS, "U",
         unit_free=False),
    _cmd("progress", {"admin": EVERYWHERE, "province_leader": EVERYWHERE}),
    _cmd("kenh", MEMBERS),  # the person's own channels (core/conversation/channels.py): no unit
    _cmd("nosuch", MEMBERS),  # no such command: members are told so, others whom to ask
    # The self-assessment's buttons (core/conversation/assess.py).
    _verb("m", WORKSPACE, "U"),
    _verb("ar", WORKSPACE, "U", "0"),
    _verb("i", WORKSPACE, "U", "YN"),
    _verb("a", {"officer": ONLY_OWN}, "U", "YN", "y"),
    _verb("c", {"officer": ONLY_OWN}, "U", "AO", "HELD"),  # every condition held: the answer is saved
    _verb("ev", WORKSPACE, "U", "YN"),
    _verb("ex", WORKSPACE, "U", "YN"),
    _verb("ty", WORKSPACE, "U", "TY"),
    _verb("st", WORKSPACE, "U"),
    _verb("rv", WORKSPACE, "U", "0"),
    _verb("fr", WORKSPACE, "U"),
    # Asking to submit says at the press what submitting would refuse, the permission first (the engine's flow).
    _verb("sb", {"officer": ONLY_OWN}, "U"),
    _verb("sk", {"officer": ONLY_OWN}, "U"),
    _verb("ap", {"unit_leader": ONLY_OWN}, "U"),
    _verb("u", WORKSPACE, "U"),
    # Where the person's notices go (their own accounts only): "t", Telegram, which every test member holds.
    _verb("kn", MEMBERS, "t"),
    # Text and files while the self-assessment waits for them (the chat state's "awaiting", core/conversation/state.py).
    # The ratio's first count is kept in the chat state (``VALUES``); the second completes the answer.
    _input("input", {"officer": ONLY_OWN}, {"awaiting": "input", "unit": "U", "slot": "TY", "values": "VALUES"},
           text="10"),
    _input("evidence", {"officer": ONLY_OWN}, {"awaiting": "evidence", "unit": "U", "slot": "YN"},
           text="Số 15/KH-UBND ngày 10/01/2020"),
    _input("explanation", {"officer": ONLY_OWN}, {"awaiting": "explanation", "unit": "U", "slot": "YN"},
           text="Không phát sinh trong kỳ"),
    _input("evidence_file", {"officer": ONLY_OWN}, {"awaiting": "evidence", "unit": "U", "slot": "YN"}, send="file"),
    # Appraisal's buttons (core/conversation/appraise.py; "pe" sends files from handlers/appraise.py), round 1 open; Sở Tài chính appraises area 6 of the departments.
    _verb("pl", APPRAISERS, phase="appraisal"),
    _verb("pn", APPRAISERS, "0", phase="appraisal"),
    _verb("pu", APPRAISERS, "U", phase="appraisal"),
    _verb("pa", APPRAISERS, "U", "AR", phase="appraisal"),
    _verb("pi", APPRAISERS, "U", "IT", phase="appraisal"),
    _verb("pk", APPRAISERS, "U", "IT", phase="appraisal"),
    _verb("pp", APPRAISERS, "U", "IT", phase="appraisal"),
    _verb("pr", APPRAISERS, "U", "AR", phase="appraisal"),
    _verb("pe", APPRAISERS, "U", "IT", phase="appraisal"),
    _verb("pg", APPRAISERS, "U", "IT", phase="appraisal"),
    # The explanation round (round 1 closed, item IT of SNV lowered): the unit's own people.
    _verb("xl", UNIT_PEOPLE, "U", phase="explanation"),
    _verb("xi", UNIT_PEOPLE, "U", "IT", phase="explanation"),
    # Text and files while appraisal waits for them.
    _input("points", APPRAISERS, {"awaiting": "points", "unit": "U", "item": "IT"}, phase="appraisal", text="0"),
    _input("reason", APPRAISERS, {"awaiting": "reason", "unit": "U", "item": "IT", "points": "0",
                                  "awaited_message": 1},
           phase="appraisal", text="Không có văn bản kiểm chứng"),
    _input("units", APPRAISERS, {"awaiting": "unit_search", "query": ""},
           phase="appraisal", text="Sở", unit_free=True),
    _input("contest", UNIT_PEOPLE, {"awaiting": "contest", "unit": "U", "item": "IT"}, phase="explanation",
           text="Đơn vị đã ban hành kế hoạch"),
    _input("contest_file", UNIT_PEOPLE, {"awaiting": "contest_file", "unit": "U", "item": "IT"}, phase="explanation",
           send="file"),
]

# Every handler the Application registers, and the table entries that exercise it. The test compares this with
# the handlers collected from the Application built as `parbot bot run` builds it.
HANDLERS: dict[str, tuple[str, ...]] = {
    # Typed text and files go to the conversation engine, which hands them to the flow the chat state names.
    "assess.on_text": ("input:input", "input:evidence", "input:explanation", "input:points", "input:reason",
                       "input:units", "input:contest"),
    "assess.on_file": ("input:evidence_file", "input:contest_file"),
    # Group chats: every command is refused there, and text or files get no handler at all.
    "onboarding.group_refusal": tuple(f"command:{e.name}" for e in TABLE if e.kind == "command"),
    "onboarding.added_to_group": (),  # the bot added to a group: a notice, nothing else (the group's set-up)
    "onboarding.unknown": ("command:nosuch",),
    "onboarding.stray_callback": (),  # data no feature's pattern takes: test_fuzz_callbacks.py
    # Edits of typed text: not cases here. They run an engine turn as typed text does (no role: refused) and
    # change only a count or points still waiting in the person's own chat state; what they write goes through
    # the same services (tests/e2e/test_conversation_edges.py).
    "app.on_edited_text": (),
    "app.drop_edit": (),
}


# ---- the Zalo channel (parbot/bot/zalo) ----------------------------------------------------------------
# The same engine behind typed commands, typed numbers (the options on view, kept in channel_choice) and typed
# text or photos: the same permissions as on Telegram, so the entries are the engine's, taken from TABLE. What
# Zalo does differently is said here. A group chat's messages are ignored (nothing visible, nothing written).
ZALO_COMMANDS = ("start", "assess", "status", "appraise", "explain", "kenh", "ranking", "result", "nosuch")
ZALO_ALLOW = {
    # "/start" of a member opens /assess (a stranger is told whom to ask): the unit's people only.
    "command:start": UNIT_PEOPLE,
    # Telegram's other commands are unknown on Zalo: everyone is told the list, nothing else happens.
    "command:nosuch": {},
    # Re-sending the item's files is a Telegram handler (documents): Zalo does not offer it, and an option of it
    # typed anyway is refused for all (it crashed the turn: engine._press, bot/zalo/render.py).
    "verb:pe": {},
}
ZALO_TABLE: list[Entry] = [
    Entry(e.kind, e.name, e.phase, ZALO_ALLOW.get(e.key, e.allow), e.args, e.state, e.send, e.text, e.unit_free)
    for e in TABLE if e.kind != "command" or e.name in ZALO_COMMANDS]

# ---- the signed web-link pages (parbot/bot/web) ------------------------------------------------------------
# Every page behind a link (a page added without an entry fails test_authz_links.py), and the links tried on
# each: only the person's own link for their unit and an item of its set, unexpired, while they are a member
# and before the deadline, gets through; every other is refused (403, the reason in words) with nothing
# written. "replayed" is the own link's upload sent again once saved: answered, nothing new written.
LINK_PAGES = {("GET", "/l/evidence/{token}"), ("POST", "/l/evidence/{token}"), ("GET", "/l/rules/{token}"),
              ("GET", "/l/chart/{token}")}
LINK_CASES = ("own", "replayed", "tampered", "other_person", "other_unit", "other_item", "other_purpose",
              "expired", "removed", "after_deadline")
# the purpose each page's links are signed for
LINK_PURPOSES = {"/l/evidence/{token}": "evidence", "/l/rules/{token}": "rules", "/l/chart/{token}": "chart"}
LINK_ALLOWED = {"/l/evidence/{token}": frozenset({"own", "replayed"}),
                # reading the rules writes nothing and is no less useful once the deadline has passed
                "/l/rules/{token}": frozenset({"own", "replayed", "after_deadline"}),
                # a chart sent to a Zalo chat (the platform fetches it by URL): read-only, like the rules
                "/l/chart/{token}": frozenset({"own", "replayed", "after_deadline"})}

# The chart page by role (test_authz_links.py): a chart link names what the chart shows, a unit's result
# ("own"/"other": the role's units in UNITS) or a block's ranking ("own_block": the block of the role's own
# unit, "other_block": another block), and the page serves it only while the person's grants cover that now —
# an officer moved to another unit holds a link of the "other" kind, a demoted leader one of "no_role".
# Unit results: whoever may view the unit; rankings: the province-wide roles, and unit leaders their own
# block's (the period there lets leaders see it).
CHART_SCOPES = ("own", "other", "own_block", "other_block")
CHART_ALLOWED = {"admin": frozenset(CHART_SCOPES), "province_leader": frozenset(CHART_SCOPES),
                 "officer": frozenset({"own"}), "unit_leader": frozenset({"own", "own_block"}),
                 "block_appraiser": frozenset({"own"}), "district_appraiser": frozenset({"own"}),
                 "no_role": frozenset(), "removed": frozenset()}
