"""No English reaches a Vietnamese reader (issue 12): the CLI's output with ``--lang vi`` on a newcomer's
usual mistakes, scanned for tell-tale English words. The demo's transcripts get the same scan in
tests/e2e/test_demo.py."""
from __future__ import annotations

import csv
import errno
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import parbot
from parbot.cli.main import app
from parbot.settings import get_settings
from tests.conftest import DATA
from tests.unit.test_criteria import VALID

# Words a Vietnamese sentence never needs; a hit is English that slipped through.
TELLTALE = re.compile(r"\b(the|not|must|is|are|should|cannot|Error|Refused|points|item|items|unknown|missing|"
                      r"duplicate|expected|invalid|block|tier|values|maximum|unit|officer|appraiser|leader|"
                      r"pending|sent|failed|skipped|attempts|Nothing|found|add up|kept|renamed|changed|replaced|"
                      r"removed|added|characters|file|directory|permission|denied|codec|while|scanning|"
                      r"allowed|here)\b", re.IGNORECASE)
# Codes, keys, paths and file names are the reader's own text: anything with a dot, slash, underscore,
# or bracket inside, a command in backticks, an option (--block) or a quoted value.
ALLOWED = re.compile(r"`[^`]*`|\S*[._/\[\]]\S*|--\S+|“[^”]*”|'[^']*'")


def english(text: str) -> list[str]:
    """The lines of ``text`` that still read as English, with the words that gave them away."""
    found = []
    for line in text.splitlines():
        words = TELLTALE.findall(ALLOWED.sub(" ", line))
        if words:
            found.append(f"{line!r}: {words}")
    return found


def test_the_scan_catches_english_and_lets_codes_pass():
    assert english("giá trị trên 5 trở lên không thuộc mức nào") == []
    assert english("t.yaml:3: areas[0].criteria[1].items: mã “1.1.1” bị trùng; --block so_ban_nganh") == []
    assert english("Lời mời #1: officer (unit SNV)") and english("the rule can give 2 points")


@pytest.fixture
def run(monkeypatch, tmp_path):
    for name in ("PARBOT_LANGUAGE", "TELEGRAM_BOT_TOKEN", "PARBOT_BOT_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PARBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'parbot.db'}")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: object) -> str:
        get_settings.cache_clear()
        result = runner.invoke(app, ["--lang", "vi", *(str(a) for a in args)], catch_exceptions=False)
        return result.stdout + result.stderr

    yield invoke
    get_settings.cache_clear()


BROKEN = [  # one criteria-set mistake per checker family: sums, tiers, blocks, codes, numbers, rules
    ("total_max: 5", "total_max: 6"),
    ("max: 5\n", "max: {huyen: 5, tinh: 5}\n"),
    ("{above: 90, points: 2}", "{above: 95, points: 2}"),
    ("{below: 70, points: 0}", "{below: 60, points: 0}"),
    ("rule: {kind: yes_no}", "rule: {kind: yes_no, yes: 2}"),
    ('code: "1.1.2"', 'code: "1.1.1"'),
    ("            max: 1\n", "            max: một\n"),
]


@pytest.mark.parametrize("old,new", BROKEN, ids=[n for _, n in BROKEN])
def test_criteria_file_problems_read_in_vietnamese(run, tmp_path, old, new):
    assert old in VALID
    path = tmp_path / "t.yaml"
    path.write_text(VALID.replace(old, new, 1), encoding="utf-8")
    output = run("framework", "validate", path)
    assert "t.yaml:" in output
    assert english(output) == []


def test_period_file_problems_read_in_vietnamese(run, tmp_path):
    sample = (DATA / "vinhphuc-2019-period.yaml").read_text(encoding="utf-8")
    opens = re.search(r"self_assessment_opens: (\S+)", sample).group(1)
    broken = re.sub(r"self_assessment_closes: \S+", "self_assessment_closes: 2000-01-01T08:00:00+07:00", sample)
    (tmp_path / "order.yaml").write_text(broken, encoding="utf-8")
    (tmp_path / "zone.yaml").write_text(sample.replace(opens, opens[:19]), encoding="utf-8")
    (tmp_path / "list.yaml").write_text("- year: 2019\n", encoding="utf-8")
    outputs = [run("period", "create", tmp_path / name) for name in ("order.yaml", "zone.yaml", "list.yaml")]
    assert all("yaml" in output for output in outputs)
    assert english("\n".join(outputs)) == []


def test_admin_commands_read_in_vietnamese(run, tmp_path):
    outputs = [run("period", "create", DATA / "vinhphuc-2019-period.yaml")]
    with (tmp_path / "units.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["code", "name", "block"], ["SNV", "Sở Nội vụ", "so_ban_nganh"],
                                      ["", "Không mã", "so_ban_nganh"], ["STC", "Sở Tài chính", "khong_co"]])
    outputs.append(run("units", "import", tmp_path / "units.csv"))
    (tmp_path / "units.csv").write_text("code,name,block\nSNV,Sở Nội vụ,so_ban_nganh\n", encoding="utf-8")
    outputs.append(run("units", "import", tmp_path / "units.csv"))
    (tmp_path / "survey.csv").write_text("unit,item,points,count_a\nSNV,1.1,1,\nZZZ,1.1,1,\nSNV,9.9,,x\n"
                                         "SNV,9.9,1,2\n", encoding="utf-8")
    outputs.append(run("survey", "import", tmp_path / "survey.csv", "--period", "2019"))
    (tmp_path / "survey.csv").write_text("unit,count_e\nSNV,1\n", encoding="utf-8")
    outputs.append(run("survey", "import", tmp_path / "survey.csv", "--period", "2019"))
    officer = run("invite", "create", "--role", "officer", "--unit", "SNV")
    assert "Sở Nội vụ" in officer
    appraiser = run("invite", "create", "--role", "appraiser", "--block", "so_ban_nganh")
    outputs += [officer, appraiser, run("invite", "create", "--role", "officer", "--unit", "ZZZ"),
                run("outbox", "status"), run("reminders", "preview"),
                run("results", "--out", tmp_path / "kq.txt"),  # --out without --format is refused
                run("results", "--help"), run("appraisal", "close-round", "--help"), run("publish", "--help")]
    assert english("\n".join(outputs)) == []


ROLE_CODES = re.compile(r"\b(officer|unit_leader|appraiser|province_leader|admin|active|used|expired|revoked)\b")


def test_tables_name_roles_and_statuses_in_words(run, tmp_path):
    """`parbot members list` and `parbot invite list` never show a role or status code (issue 12), in either
    language."""
    from datetime import datetime, timezone

    from parbot.cli.common import uow
    from parbot.core.services import people

    run("period", "create", DATA / "vinhphuc-2019-period.yaml")
    (tmp_path / "units.csv").write_text("code,name,block\nSNV,Sở Nội vụ,so_ban_nganh\n", encoding="utf-8")
    run("units", "import", tmp_path / "units.csv")
    codes = {}
    for role, scope in (("officer", ["--unit", "SNV"]), ("unit_leader", ["--unit", "SNV"]),
                        ("appraiser", ["--block", "so_ban_nganh"]), ("province_leader", []), ("admin", [])):
        codes[role] = run("invite", "create", "--role", role, *scope).split("Mã: ")[1].split()[0]
    for number, role in enumerate(("officer", "appraiser", "province_leader", "admin"), start=1):
        get_settings.cache_clear()
        people.accept_invite(uow(), codes[role], telegram_id=100 + number, chat_id=100 + number,
                             name=f"Người {number}", language="vi", now=datetime.now(timezone.utc))
    run("invite", "revoke", codes["unit_leader"])
    closes = re.search(r"self_assessment_closes: (\S{10})", (DATA / "vinhphuc-2019-period.yaml").read_text())[1]
    reminders = run("reminders", "preview", "--period", "2019", "--at", f"{closes}T06:00", "--days", "3")
    assert "nhắc hạn: tự đánh giá SNV" in reminders and english(reminders) == []
    assert not re.search(r"\b(send|skip|upcoming|reminder|digest|self_assessment)\b", reminders)
    assert "Giá trị của '--at' không hợp lệ: “sáng nay” không phải ngày giờ" in run("reminders", "preview", "--at",
                                                                                   "sáng nay")
    members, invites = run("members", "list"), run("invite", "list")
    assert "Cán bộ đầu mối" in members and "Lãnh đạo tỉnh" in members and "Tiếng Việt" in members
    assert "Thành viên thẩm định" in invites and "đã dùng" in invites and "đã thu hồi" in invites
    assert ROLE_CODES.findall(members + invites) == [] and english(members + invites) == []
    run_en = [CliRunner().invoke(app, ["--lang", "en", *args]).stdout for args in (["members", "list"],
                                                                                  ["invite", "list"])]
    assert "Focal officer" in run_en[0] and "Provincial leader" in run_en[0] and "revoked" in run_en[1]
    assert "Cán bộ" not in "".join(run_en)


def test_a_round_from_the_samples_reads_in_vietnamese(run):
    """The README's walk on parbot/samples from an empty folder to a published round: every listing in
    Vietnamese, no code left in words (the audit's actions and sources, the period's settings)."""
    samples = Path(parbot.__file__).parent / "samples"
    outputs = [run("db", "upgrade"), run("members", "list"), run("period", "create", samples / "period-2020.yaml"),
               run("units", "import", samples / "units-2020.csv"), run("units", "list", "--block", "xa"),
               run("period", "show", "--period", "2020"),
               run("scores", "import", samples / "scores-2020.csv", "--period", "2020"),
               run("results", "--period", "2020", "--block", "so"), run("publish", "--period", "2020"),
               run("audit", "--period", "2020", "--unit", "SNV", "--item", "1.1.1")]
    text = "\n".join(outputs)
    assert "Chưa có ai tham gia bot" in outputs[1]
    assert "thuộc H01" in outputs[4] and "mở tự đánh giá" in outputs[5] and "Đã công bố khối so" in text
    audit = outputs[-1].splitlines()
    assert audit and all("nhập từ bảng tính" in line for line in audit)
    assert "tự chấm" in outputs[-1] and "thẩm định" in outputs[-1]
    assert not re.search(r"\b(import|self|appraised|survey|score)\b", outputs[-1])
    assert english(text) == [] and "Traceback" not in text
    english_results = CliRunner().invoke(app, ["--lang", "en", "results", "--period", "2020", "--block", "so"]).stdout
    assert "Total" in english_results and "Tổng" not in english_results  # --lang reaches the table's headers


@pytest.mark.parametrize("stored,vi,en", [
    ("na", "không phát sinh", "not applicable"), ("closed", "đã đóng", "closed"),
    ("reference Quyết định số 12/QĐ-UBND", "văn bản: Quyết định số 12/QĐ-UBND", "reference: Quyết định số 12/QĐ-UBND"),
    ("file c9fa4f7c7650", "tệp c9fa4f7c7650", "file c9fa4f7c7650"),
    ("answer 1.1.2 changed", "câu trả lời tiêu chí 1.1.2 đã đổi", "the answer to item 1.1.2 changed"),
    ("12.5", "12.5", "12.5"), ("Sở Nội vụ đề nghị", "Sở Nội vụ đề nghị", "Sở Nội vụ đề nghị"),
])
def test_audit_rows_say_in_words_what_the_services_store(stored, vi, en):
    """What core/services write in an audit row's old, new or reason (assessment: evidence and approvals;
    appraisal: rounds) reads in the chosen language; points and people's own words are shown as stored."""
    from parbot.cli.common import options
    from parbot.cli.setup_cmds import _audit_source, _audit_value

    try:
        options.lang = "vi"
        assert (_audit_value(stored), _audit_source("appraised:round2"), _audit_source("snapshot:so")) == \
               (vi, "thẩm định (vòng 2)", "kết quả khối so")
        options.lang = "en"
        assert (_audit_value(stored), _audit_source("self")) == (en, "self-assessed")
    finally:
        options.lang = None


def test_the_same_problem_on_many_rows_is_listed_once_with_the_rows(run):
    """Units imported before their period: every row names the same missing block; the refusal lists each
    block once with its rows instead of 44 lines, and a row's other problems stay on their own line."""
    samples = Path(parbot.__file__).parent / "samples"
    run("db", "upgrade")
    refused = run("units", "import", samples / "units-2020.csv")
    bullets = [line for line in refused.splitlines() if line.startswith("  • ")]
    assert bullets == [f"  • dòng {rows}, cột “block”: chưa có khối “{block}”: hãy nạp bộ tiêu chí của khối trước, "
                       "hoặc thêm cột block_name" for rows, block in (("2–9", "so"), ("10–13", "huyen"),
                                                                     ("14–45", "xa"))]
    run("period", "create", samples / "period-2020.yaml")
    Path("s.csv").write_text("unit,item,source,points\nSNV,1.1.1,self,1\nZZZ,1.1.1,self,1\nZZZ,1.1.2,self,1\n"
                             "YYY,1.1.1,self,1\nZZZ,1.1.3,self,1\n", encoding="utf-8")
    refused = run("scores", "import", "s.csv", "--period", "2020")
    assert "dòng 3–4, 6, cột “unit”: không có đơn vị mã “ZZZ”" in refused
    assert "dòng 5, cột “unit”: không có đơn vị mã “YYY”" in refused


UNREADABLE = {  # a criteria file as it goes wrong on a first day, and the words that must say why
    "missing.yaml": (None, "không có tệp này"),
    "latin1.yaml": (b"title: H\xe0 N\xf4i\n", "không phải văn bản UTF-8"),
    "tab.yaml": (b"format: parbot/criteria-set@1\nareas:\n\t- code: '1'\n", "ký tự tab"),
    "colon.yaml": (b"format: parbot/criteria-set@1\ntitle: a: b\n", "dấu hai chấm"),
    "quote.yaml": (b"format: parbot/criteria-set@1\ntitle: \"Chi so\n", "chưa đóng"),
}


@pytest.mark.parametrize("name", UNREADABLE)
def test_why_a_file_cannot_be_read_is_said_in_vietnamese(run, tmp_path, name):
    """The operating system's and PyYAML's English reasons never reach the reader: each is a code with a
    catalog message (core.errors.file_problem, yaml_problem)."""
    data, words = UNREADABLE[name]
    if data is not None:
        (tmp_path / name).write_bytes(data)
    output = run("framework", "validate", tmp_path / name)
    assert words in output and english(output) == [], output


def test_every_reason_a_file_cannot_be_read_has_both_messages():
    import errno

    import yaml

    from parbot.core.errors import _YAML_PROBLEMS, file_problem, yaml_problem
    from parbot.i18n import catalog

    errors = [FileNotFoundError(errno.ENOENT, "x"), NotADirectoryError(errno.ENOTDIR, "x"),
              IsADirectoryError(errno.EISDIR, "x"), PermissionError(errno.EACCES, "x"), OSError(errno.EIO, "x"),
              UnicodeDecodeError("utf-8", b"\xe0", 0, 1, "x")]
    codes = {file_problem(e).code for e in errors} | {f"yaml.{code}" for _, code in _YAML_PROBLEMS}
    codes.add(yaml_problem(yaml.YAMLError("?")).code)
    assert len(codes) == 5 + 8
    for lang in ("vi", "en"):
        assert {f"problem.{code}" for code in codes} <= set(catalog(lang))
    assert file_problem(OSError(errno.EIO, "Input/output error")).params == {"error": "EIO"}


def test_a_missing_column_names_the_required_and_the_optional_ones_in_words(run, tmp_path):
    """The columns are the file's real headers; the words around them (which are optional) are Vietnamese."""
    run("period", "create", DATA / "vinhphuc-2019-period.yaml")
    (tmp_path / "units.csv").write_text("code,name,khoi\nSNV,Sở Nội vụ,so_ban_nganh\n", encoding="utf-8")
    (tmp_path / "scores.csv").write_text("unit,item,points\nSNV,1.1,1\n", encoding="utf-8")
    units, scores = run("units", "import", tmp_path / "units.csv"), run("scores", "import", tmp_path / "scores.csv",
                                                                                     "--period", "2019")
    assert ("thiếu cột “block” (cần các cột: “code”, “name”, “block”; không bắt buộc: “parent”, “valid_from”, "
            "“valid_to”, “predecessors”, “block_name”)") in units
    assert "cột “khoi” không dùng được (các cột: “code”, “name”, “block”; không bắt buộc: “parent”," in units
    assert "thiếu cột “source” (cần các cột: “unit”, “item”, “source”, “points”; không bắt buộc: “reason”)" in scores
    assert english(units + scores) == []


DATABASES = {  # a wrong PARBOT_DATABASE_URL as a newcomer writes it, and what the refusal must say
    "postgresql+psycopg://postgres@127.0.0.1:1/parbot": "máy chủ không nhận kết nối",
    "foo://x": "không nhận ra loại cơ sở dữ liệu “foo”",
    "postgresql+psycopg://parbot_nobody@127.0.0.1:5432/postgres": "máy chủ không có người dùng “parbot_nobody”",
    "postgresql+psycopg://postgres@127.0.0.1:5432/parbot_none": "máy chủ không có cơ sở dữ liệu “parbot_none”",
}


@pytest.mark.parametrize("url", DATABASES)
def test_why_the_database_cannot_be_reached_is_said_in_vietnamese(run, monkeypatch, url):
    """The driver's English (libpq, SQLAlchemy) is put in words for the usual mistakes (issue 12)."""
    if "5432" in url:
        from tests.conftest import require_postgres

        require_postgres()
    monkeypatch.setenv("PARBOT_DATABASE_URL", url)
    output = run("units", "list")
    assert "Không kết nối được cơ sở dữ liệu" in output and DATABASES[url] in output, output
    assert english(output) == [] and "Traceback" not in output


@pytest.mark.parametrize("encoding", ["cp1258", "utf-16"])
def test_an_env_file_saved_in_another_encoding_is_refused_in_vietnamese(run, tmp_path, encoding):
    """Notepad saves .env in the Windows code page or as UTF-16: the language it names cannot be read, so the
    refusal is Vietnamese, with or without --lang, and no traceback."""
    (tmp_path / ".env").write_bytes("PARBOT_LANGUAGE=vi\nPARBOT_TIMEZONE=Asia/Ho_Chi_Minh  # Hà Đông\n"
                                    .encode(encoding))
    with_lang = run("units", "list")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["units", "list"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    for output in (with_lang, result.stdout + result.stderr):
        assert "Không đọc được tệp .env: không phải văn bản UTF-8" in output, output
        assert english(output) == [] and "Traceback" not in output


def test_a_table_the_os_or_the_csv_reader_refuses_is_explained_in_vietnamese(run, tmp_path, monkeypatch):
    """A cell beyond the csv module's limit, and a read the operating system fails: the reason is a catalog
    message, not the library's English (issue 12)."""
    (tmp_path / "big.csv").write_text("code,name,block\nSNV," + "x" * 200_000 + ",so\n", encoding="utf-8")
    big = run("units", "import", tmp_path / "big.csv")
    assert "big.csv: tệp CSV bị lỗi (có ô dài hơn 131072 ký tự)." in big and english(big) == [], big
    (tmp_path / "units.csv").write_text("code,name,block\n", encoding="utf-8")

    def fails(self):  # noqa: ANN001, ANN202 - Path.read_bytes on a failing disk
        raise OSError(errno.EIO, "Input/output error", str(self))

    monkeypatch.setattr(Path, "read_bytes", fails)
    failed = run("units", "import", tmp_path / "units.csv")
    assert "units.csv: không mở được tệp (hệ điều hành báo lỗi EIO khi đọc tệp)." in failed, failed
    assert english(failed) == []


def test_a_stored_criteria_set_no_longer_valid_is_explained_in_vietnamese():
    """A set stored by an earlier release that today's checks refuse: its problems are rendered in the
    reader's language, not pasted in as English text."""
    from parbot.core.errors import DomainError
    from parbot.i18n import error_text
    from parbot.storage.uow import _parse

    with pytest.raises(DomainError) as refused:
        _parse("0" * 64, VALID.replace("total_max: 5", "total_max: 6", 1))
    text = error_text(refused.value, "vi")
    assert text.startswith("Bộ tiêu chí đã lưu trong cơ sở dữ liệu không còn hợp lệ: ") and "cộng lại được" in text
    assert english(text) == [], text


def test_a_damaged_workbook_is_explained_in_vietnamese(run, tmp_path):
    """An XLSX whose parts openpyxl cannot read: the refusal says what to do, the exception's class only as
    an error code (it was "(KeyError)" alone, issue 12)."""
    import zipfile

    with zipfile.ZipFile(tmp_path / "units.xlsx", "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    output = run("units", "import", tmp_path / "units.xlsx")
    assert "units.xlsx: không phải bảng tính Excel (.xlsx) đọc được (tệp hỏng hoặc không do Excel lưu: hãy mở " \
           "trong Excel rồi lưu lại; mã lỗi " in output, output
    assert english(output) == []
