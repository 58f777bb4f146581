"""A criteria set revised mid-cycle: a realistic v2 of the shipped 2020 commune set attached to a running period.

v2 splits 1.1.4 (plan carried out, tiers on a ratio, 2 points) into 1.1.4a and 1.1.4b (1 point each), raises
1.2.2's maximum from 1 to 2, removes 1.3.1 and keeps everything else (1.1.1 among them); area 1 still
totals 12 and the set 100.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from callers import ADMIN, person_caller
from emulator_fixtures import emulator_server, ptb_bot  # noqa: F401 - fixtures
from sqlmodel import select

from parbot.core.criteria import parse_criteria_set, shipped_sets_dir
from parbot.core.errors import DomainError, PermissionDenied, ValidationFailed
from parbot.core.model import Score, Unit, UnitStage
from parbot.core.period import Deadlines, PeriodConfig
from parbot.core.services import assessment, people, periods
from parbot.core.services import revision as rev
from parbot.core.services.progress import compute_progress
from parbot.core.services.results import period_results
from parbot.core.services.scores import put_score
from parbot.storage.tables import OutboxRow
from tests.unit.test_vietnamese_output import english

OPENS = datetime(2020, 12, 1, 1, 0, tzinfo=timezone.utc)
CLOSES = datetime(2021, 1, 15, 10, 0, tzinfo=timezone.utc)
NOW = OPENS + timedelta(days=3)
LATER = NOW + timedelta(days=10)
DOC = Path(__file__).resolve().parents[2] / "docs" / "criteria-format.md"
SPLIT = {"1.1.4": ("1.1.4a", "1.1.4b")}


def revised_text(version: int = 2) -> str:
    data = yaml.safe_load((shipped_sets_dir() / "2020-xa.yaml").read_text(encoding="utf-8"))
    data["version"] = version
    c11, c12, c13 = data["areas"][0]["criteria"][:3]
    at = next(i for i, item in enumerate(c11["items"]) if item["code"] == "1.1.4")
    c11["items"][at:at + 1] = [
        {"code": "1.1.4a", "name": "Hoàn thành các nhiệm vụ trọng tâm của kế hoạch CCHC", "max": 1,
         "evidence": "required", "rule": {"kind": "yes_no", "yes_label": "Hoàn thành", "no_label": "Chưa hoàn thành"}},
        {"code": "1.1.4b", "name": "Hoàn thành các nhiệm vụ còn lại của kế hoạch đúng thời hạn", "max": 1,
         "evidence": "required", "rule": {"kind": "yes_no", "yes_label": "Đúng hạn", "no_label": "Không đúng hạn"}}]
    next(i for i in c12["items"] if i["code"] == "1.2.2")["max"] = 2
    c12["max"] = 3
    c13["items"] = [i for i in c13["items"] if i["code"] != "1.3.1"]
    c13["max"] = 2
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def revised(version: int = 2):
    criteria_set, problems = parse_criteria_set(revised_text(version), "v2")
    assert criteria_set is not None, problems
    return criteria_set


@pytest.fixture
def world(uow):
    """Period 2020 on the shipped commune set; X1 answered four items (two appraised), has evidence and has
    submitted; X2 answered 1.1.1 only. One officer each."""
    config = PeriodConfig(year=2020, criteria={"xa": "2020-xa.yaml"},
                          deadlines=Deadlines(self_assessment_opens=OPENS, self_assessment_closes=CLOSES))
    periods.save_period(uow, caller=ADMIN, config=config)
    with uow:
        for code in ("X1", "X2"):
            uow.units.upsert(Unit(code, f"Xã {code}", "xa"))
        uow.commit()
    who = {}
    for unit in ("X1", "X2"):
        code, _ = people.create_invite(uow, caller=ADMIN, role="officer", expires_in=timedelta(days=30), now=OPENS,
                                       unit_code=unit)
        telegram_id = len(who) + 100
        person = people.accept_invite(uow, code, telegram_id=telegram_id, chat_id=telegram_id, name=unit, now=OPENS)[0]
        who[unit] = person_caller(uow, person.id)
    answer = lambda unit, item, raw: assessment.record_answer(  # noqa: E731 - four one-line answers
        uow, caller=who[unit], unit_code=unit, item_code=item, raw=raw, now=NOW)
    answer("X1", "1.1.1", {"option": "late"})
    answer("X1", "1.1.4", {"numerator": "95", "denominator": "100"})
    answer("X1", "1.2.2", {"yes": True})
    answer("X1", "1.3.1", {"yes": True})
    answer("X2", "1.1.1", {"option": "on_time"})
    for item in ("1.1.1", "1.1.4"):
        assessment.add_reference(uow, caller=who["X1"], unit_code="X1", item_code=item,
                                 text=f"Quyết định số 12/QĐ-UBND, mục {item}", now=NOW)
    with uow:
        period = uow.periods.current()
        for item, points in (("1.1.1", "0.5"), ("1.2.2", "1")):
            put_score(uow, period, Score("X1", item, "appraised", Decimal(points), by="council"), "council")
        uow.stages.put(period.id, UnitStage("X1", submitted_at=NOW, submitted_by=who["X1"].person_id))
        uow.commit()
    return uow, who


def state(uow, unit="X1"):
    with uow:
        period = uow.periods.current()
        return (period, uow.answers.for_unit(period.id, unit), uow.scores.for_period(period.id, [unit]),
                uow.evidence.for_unit(period.id, unit), uow.stages.get(period.id, unit))


def revision_notices(uow):
    with uow:
        return [r.model_copy() for r in uow.session.exec(select(OutboxRow).where(OutboxRow.kind == rev.NOTICE)
                                                         .order_by(OutboxRow.id))]


def render_notice(uow, row):
    """What the sender would send for one outbox row of a revision notice."""
    from parbot.bot.outbox_kinds import RENDERERS
    from parbot.bot.sender import RenderContext
    from parbot.storage.outbox_sender_repo import OutboxItem

    with uow:
        return RENDERERS[rev.NOTICE](RenderContext(uow=uow, now=LATER, tz="Asia/Ho_Chi_Minh"), OutboxItem(
            id=1, key=row.key, person_id=row.person_id, chat_id=row.chat_id, kind=row.kind, payload=row.payload,
            status="pending", attempts=0, not_before=LATER))


def total(uow, unit):
    _, blocks = period_results(uow, year=2020)
    return next(u for u in blocks[0].units if u.unit.code == unit).total


def test_compare_lists_kept_replaced_changed_removed():
    old = parse_criteria_set((shipped_sets_dir() / "2020-xa.yaml").read_text(encoding="utf-8"))[0].for_block("xa")
    changes = {c.old_code: c for c in rev.compare(old, revised().for_block("xa"), SPLIT)}
    assert (changes["1.1.1"].kind, changes["1.1.4"].kind, changes["1.2.2"].kind, changes["1.3.1"].kind) == (
        rev.KEPT, rev.REPLACED, rev.CHANGED, rev.REMOVED)
    assert changes["1.1.4"].new_codes == ("1.1.4a", "1.1.4b") and changes["1.2.2"].differences == ("maximum",)
    assert {c.kind for code, c in changes.items() if code not in ("1.1.4", "1.2.2", "1.3.1")} == {rev.KEPT}
    # Without the mapping the split reads as a removal and two additions.
    plain = rev.compare(old, revised().for_block("xa"), {})
    assert [c.new_codes for c in plain if c.kind == rev.ADDED] == [("1.1.4a",), ("1.1.4b",)]
    assert next(c for c in plain if c.old_code == "1.1.4").kind == rev.REMOVED


def test_revision_keeps_unchanged_work_reopens_the_rest_notifies_and_audits(world):
    uow, who = world
    assert total(uow, "X1") == Decimal("4.5")  # 0.5 appraised + 2 + 1 appraised + 1
    with pytest.raises(PermissionDenied):
        rev.revise(uow, caller=who["X1"], criteria_set=revised(), reference="v2.yaml", now=LATER, mapping=SPLIT)

    dry = rev.revise(uow, caller=ADMIN, criteria_set=revised(), reference="v2.yaml", now=LATER, mapping=SPLIT,
                     dry_run=True)
    assert not dry.applied and [u.superseded for u in dry.blocks[0].units] == [("1.1.4", "1.2.2", "1.3.1"), ()]
    period, answers, *_ = state(uow)
    assert period.criteria_sets["xa"].spec.version == 1 and len(answers) == 4 and not revision_notices(uow)

    done = rev.revise(uow, caller=ADMIN, criteria_set=revised(), reference="v2.yaml", now=LATER, mapping=SPLIT)
    assert done.applied and done.blocks[0].to_answer == ("1.1.4a", "1.1.4b", "1.2.2")
    period, answers, scores, evidence, stage = state(uow)
    assert period.criteria_sets["xa"].spec.version == 2 and period.config.criteria["xa"] == "v2.yaml"
    # 1.1.1 is unchanged: answer, self and appraised scores, evidence all stay.
    assert list(answers) == ["1.1.1"] and answers["1.1.1"].value == {"option": "late"}
    assert sorted((s.item_code, s.source, s.points) for s in scores) == [
        ("1.1.1", "appraised", Decimal("0.5")), ("1.1.1", "self", Decimal("0.5"))]
    # The split item's evidence documents both new items; the old record stays as it was.
    assert sorted(e.item_code for e in evidence if e.reference.endswith("1.1.4")) == ["1.1.4", "1.1.4a", "1.1.4b"]
    # The submitted unit is open again; what no longer counts is its history.
    assert stage.submitted_at is None
    history = stage.state["revisions"][0]
    assert history["reopened"] and history["set"] == "par2020-xa v1 → v2"
    assert history["superseded"]["1.1.4"]["value"] == {"numerator": "95", "denominator": "100"}
    assert history["superseded"]["1.1.4"]["points"] == "2"
    assert history["superseded"]["1.2.2"]["scores"] == {"self": "1", "appraised": "1"}
    assert total(uow, "X1") == Decimal("0.5")
    assert total(uow, "X2") == Decimal("1")  # X2 answered only the kept item
    progress = compute_progress(period.criteria_for("xa"), "X1", answers, evidence, stage)
    assert {"1.1.4a", "1.1.4b", "1.2.2"} <= {c for a in progress.areas for c in a.missing_items}
    # The officers can answer the reopened items at once.
    assessment.record_answer(uow, caller=who["X1"], unit_code="X1", item_code="1.2.2", raw={"yes": True}, now=LATER)
    assert total(uow, "X1") == Decimal("2.5")

    notices = revision_notices(uow)
    assert sorted((n.payload["unit"], n.person_id) for n in notices) == [
        ("X1", who["X1"].person_id), ("X2", who["X2"].person_id)]
    x1 = next(n for n in notices if n.payload["unit"] == "X1").payload
    assert x1["reopened"] and x1["kept"] == len(period.criteria_for("xa").items) - 3
    assert [(c["kind"], c["old"], c["new"]) for c in x1["changes"]] == [
        ("replaced", "1.1.4", ["1.1.4a", "1.1.4b"]), ("changed", "1.2.2", ["1.2.2"]), ("removed", "1.3.1", [])]
    with uow:
        audit = uow.audit.query(period.id)
    revision_rows = [(a.unit_code, a.item_code, a.source) for a in audit if a.action == "revision"]
    assert sorted(revision_rows) == [("X1", "1.1.4", "self"), ("X1", "1.2.2", "appraised"),
                                     ("X1", "1.2.2", "self"), ("X1", "1.3.1", "self")]
    assert [(a.unit_code, a.action) for a in audit if a.action in ("reopen", "criteria_revision")] == [
        ("X1", "reopen"), (None, "criteria_revision")]
    assert sorted((a.item_code, a.old) for a in audit if a.action == "revision_evidence") == [
        ("1.1.4a", "1.1.4"), ("1.1.4b", "1.1.4")]
    summary = next(a for a in audit if a.action == "criteria_revision")
    assert (summary.old, summary.new, summary.source) == ("par2020-xa v1", "par2020-xa v2", "xa")

    # The same revision again changes nothing.
    again = rev.revise(uow, caller=ADMIN, criteria_set=revised(), reference="v2.yaml", now=LATER, mapping=SPLIT)
    assert again.blocks == () and len(revision_notices(uow)) == 2
    with uow:
        assert len(uow.audit.query(period.id)) == len(audit)


def test_renamed_items_keep_their_answers_under_the_new_code(world):
    uow, _ = world
    text = revised_text(2).replace('code: 1.1.1\n', 'code: 1.1.1n\n').replace("code: '1.1.1'\n", "code: 1.1.1n\n")
    criteria_set, problems = parse_criteria_set(text)
    assert criteria_set is not None and "1.1.1n" in criteria_set.for_block("xa").items, problems
    contest = {"text": "Kế hoạch ban hành đúng hạn", "by": "person:1", "at": NOW.isoformat(), "evidence": []}
    with uow:  # X1 explained against two appraisals: the renamed item's follows it, the changed one's is history
        period = uow.periods.current()
        stage = uow.stages.get(period.id, "X1")
        uow.stages.put(period.id, UnitStage("X1", submitted_at=stage.submitted_at, state={
            "appraisal": {"round1_closed_at": NOW.isoformat(), "contests": {"1.1.1": contest, "1.2.2": contest}}}))
        uow.commit()
    done = rev.revise(uow, caller=ADMIN, criteria_set=criteria_set, reference="v2.yaml", now=LATER,
                      mapping=SPLIT | {"1.1.1": ("1.1.1n",)})
    assert next(c for c in done.blocks[0].changes if c.old_code == "1.1.1").kind == rev.RENAMED
    _, answers, scores, evidence, stage = state(uow)
    assert stage.state["appraisal"]["contests"] == {"1.1.1n": contest}
    assert stage.state["revisions"][0]["superseded"]["1.2.2"]["contest"] == contest
    assert stage.state["revisions"][0]["moved"] == {"1.1.1": "1.1.1n"}
    assert list(answers) == ["1.1.1n"] and answers["1.1.1n"].value == {"option": "late"}
    assert sorted((s.item_code, s.source) for s in scores) == [("1.1.1n", "appraised"), ("1.1.1n", "self")]
    assert {"1.1.1", "1.1.1n"} <= {e.item_code for e in evidence}
    assert total(uow, "X1") == Decimal("0.5")


def test_a_bad_mapping_or_an_older_version_is_refused_with_nothing_written(world, tmp_path):
    uow, _ = world
    with pytest.raises(ValidationFailed) as refused:
        rev.revise(uow, caller=ADMIN, criteria_set=revised(), reference="v2.yaml", now=LATER,
                   mapping={"1.1.1": ("1.1.1x",), "9.9": ("1.1.4a",), "1.1.4": ("1.1.1",)})
    assert sorted(p.code for p in refused.value.problems) == [
        "revision.map_new_exists", "revision.map_old_kept", "revision.map_unknown_new", "revision.map_unknown_old"]

    with pytest.raises(DomainError, match="revision.version_not_newer"):
        rev.revise(uow, caller=ADMIN, criteria_set=parse_criteria_set(revised_text(1))[0], reference="x",
                   now=LATER)
    period, answers, *_ = state(uow)
    assert period.criteria_sets["xa"].spec.version == 1 and len(answers) == 4
    mapping = tmp_path / "map.yaml"
    mapping.write_text("1.4: 1.5\n1.1.4: [1.1.4a, 1.1.4b]\n", encoding="utf-8")
    assert rev.load_mapping(mapping) == {"1.4": ("1.5",), "1.1.4": ("1.1.4a", "1.1.4b")}
    documented = next(b for b in re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
                      if b.startswith("1.1.4:"))
    mapping.write_text(documented, encoding="utf-8")
    assert rev.load_mapping(mapping) == {"1.1.4": ("1.1.4a", "1.1.4b"), "3.2": ("3.5",)}
    mapping.write_text("1.1.4: []\n", encoding="utf-8")
    with pytest.raises(ValidationFailed):
        rev.load_mapping(mapping)


def test_the_notice_reads_what_changed(world):
    uow, who = world
    rev.revise(uow, caller=ADMIN, criteria_set=revised(), reference="v2.yaml", now=LATER, mapping=SPLIT)
    rendered = render_notice(uow, next(n for n in revision_notices(uow) if n.payload["unit"] == "X1"))
    lines = rendered.text.splitlines()
    assert lines[0] == "🔄 Bộ tiêu chí đánh giá của Xã X1 đã được sửa đổi (par2020-xa phiên bản 1 → 2)."
    assert lines[2].startswith("• 1.1.4 → 1.1.4a, 1.1.4b. Mức độ thực hiện kế hoạch CCHC: được thay bằng")
    assert lines[3] == ("• 1.2.2. Tất cả báo cáo có đầy đủ nội dung theo hướng dẫn: thay đổi cách chấm hoặc "
                        "điểm tối đa (1 → 2 điểm), cần trả lời lại.")
    assert lines[-1] == "Bản tự đánh giá đã gửi được mở lại: hãy trả lời 1.1.4a, 1.1.4b, 1.2.2 rồi gửi lại."
    assert rendered.reply_markup is not None


def test_the_command_prints_the_mapping_in_vietnamese_then_applies_once(world, cli, tmp_path):
    (tmp_path / "v2.yaml").write_text(revised_text(), encoding="utf-8")
    (tmp_path / "map.yaml").write_text("# tách 1.1.4\n1.1.4: [1.1.4a, 1.1.4b]\n", encoding="utf-8")
    code, out, _ = cli("framework", "revise", "v2.yaml", "--period", "2020", "--map", "map.yaml", "--dry-run")
    assert code == 0, out
    assert "Đối chiếu bộ tiêu chí par2020-xa — khối xa: phiên bản 1 → 2" in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 5}
    assert "1.1.4a, 1.1.4b" in rows["Tách/gộp"] and "2 → 1" not in rows["Tách/gộp"]
    assert "1 → 2" in rows["Thay đổi"] and "điểm tối đa" in rows["Thay đổi"] and "1.3.1" in rows["Bãi bỏ"]
    assert "Chạy thử: chưa ghi gì" in out and "Giữ nguyên" not in rows
    uow, _ = world
    assert state(uow)[0].criteria_sets["xa"].spec.version == 1

    (tmp_path / "bad.yaml").write_text("9.9: 1.1.4a\n", encoding="utf-8")
    code, _, err = cli("framework", "revise", "v2.yaml", "--period", "2020", "--map", "bad.yaml")
    assert code == 2 and "Tệp đối chiếu mã tiêu chí không hợp lệ." in err
    assert "9.9: không có trong bộ tiêu chí đang dùng." in err

    code, out, _ = cli("framework", "revise", "v2.yaml", "--period", "2020", "--map", "map.yaml")
    assert code == 0 and "Đã gắn par2020-xa phiên bản 2 vào kỳ 2020 (khối xa); 2 thông báo" in out, out
    assert state(uow)[0].criteria_sets["xa"].spec.version == 2
    code, out, _ = cli("framework", "revise", "v2.yaml", "--period", "2020", "--map", "map.yaml")
    assert code == 0 and "Kỳ 2020 đã dùng par2020-xa phiên bản 2: không có gì thay đổi." in out


def test_what_officers_are_sent_and_the_audit_read_in_vietnamese(world, cli, tmp_path):
    """A revision's notices and its audit rows (`parbot audit`) carry no English word (issue 12): what the
    service stores (the change's kind, the counts of the summary) is put in words when shown."""
    (tmp_path / "v2.yaml").write_text(revised_text(), encoding="utf-8")
    (tmp_path / "map.yaml").write_text("1.1.4: [1.1.4a, 1.1.4b]\n", encoding="utf-8")
    code, out, err = cli("--lang", "vi", "framework", "revise", "v2.yaml", "--period", "2020", "--map", "map.yaml")
    assert code == 0, out + err
    uow, _ = world
    notices = "\n".join(render_notice(uow, row).text for row in revision_notices(uow))
    code, audit, _ = cli("--lang", "vi", "audit", "--period", "2020")
    assert code == 0
    lines = audit.splitlines()

    def reason(*words: str) -> str:  # what the row with all these words ends with (rich expands the tabs)
        line = next(line for line in lines if all(w in line for w in words))
        return line.rstrip()

    assert reason("bỏ theo phiên bản mới", "1.3.1").endswith("par2020-xa phiên bản 1 → 2: tiêu chí bị bãi bỏ")
    assert reason("bỏ theo phiên bản mới", "1.1.4 ").endswith(
        "par2020-xa phiên bản 1 → 2: tiêu chí được tách/gộp thành tiêu chí mới")
    assert reason("bỏ theo phiên bản mới", "1.2.2", "thẩm định").endswith(
        "par2020-xa phiên bản 1 → 2: tiêu chí đã thay đổi")
    summary = reason("đổi phiên bản bộ tiêu chí")
    assert "par2020-xa phiên bản 1 → par2020-xa phiên bản 2" in summary
    assert summary.endswith("giữ nguyên 32, thay đổi 1, tách/gộp 1, bãi bỏ 1")
    assert reason("mở lại để trả lời").endswith("par2020-xa phiên bản 1 → 2: cần trả lời lại 1.1.4a, 1.1.4b, 1.2.2")
    assert english(notices) == [] and english(audit) == []
    _, in_english, _ = cli("--lang", "en", "audit", "--period", "2020")
    assert "par2020-xa version 1 → 2: item removed" in in_english and "kept 32, changed 1, split or merged 1" in in_english


def test_a_mapping_file_that_cannot_be_read_says_why_in_vietnamese(world, cli, tmp_path):
    """The reason a mapping file is refused is a catalog message, not the OS's, the codec's or PyYAML's
    English (issue 12); nothing is attached."""
    (tmp_path / "v2.yaml").write_text(revised_text(), encoding="utf-8")
    (tmp_path / "folder").mkdir()
    (tmp_path / "big.yaml").write_text("1.1.4: 1.1.4a\n" * (rev.MAX_MAPPING_CHARS // 10), encoding="utf-8")
    (tmp_path / "colon.yaml").write_text("1.1.4: a: b\n", encoding="utf-8")
    (tmp_path / "latin1.yaml").write_bytes(b"1.1.4: H\xe0 N\xf4i\n")
    expected = {"missing.yaml": "không có tệp này", "folder": "đây là một thư mục",
                "big.yaml": f"tệp quá lớn ({rev.MAX_MAPPING_CHARS // 10 * 14} ký tự; tối đa {rev.MAX_MAPPING_CHARS})",
                "colon.yaml": "dòng 1, cột 9: dấu hai chấm “:” không được đứng ở đây",
                "latin1.yaml": "không phải văn bản UTF-8 (byte thứ 9)"}
    for name, words in expected.items():
        code, out, err = cli("--lang", "vi", "framework", "revise", "v2.yaml", "--period", "2020", "--map", name)
        assert code != 0 and f"Không đọc được tệp đối chiếu {name}: {words}" in err, err
        assert english(out + err) == [], err
    uow, _ = world
    assert state(uow)[0].criteria_sets["xa"].spec.version == 1


def test_an_approval_of_content_that_changed_is_voided(world):
    """X2 only answered a kept item, yet its leader approved a self-assessment that now lacks new items."""
    uow, who = world
    with uow:
        period = uow.periods.current()
        uow.stages.put(period.id, UnitStage("X2", approved_at=NOW, approved_by=who["X2"].person_id))
        uow.commit()
    done = rev.revise(uow, caller=ADMIN, criteria_set=revised(), reference="v2.yaml", now=LATER, mapping=SPLIT)
    x2 = next(u for u in done.blocks[0].units if u.unit_code == "X2")
    assert x2.superseded == () and not x2.reopened
    *_, stage = state(uow, "X2")
    assert stage.approved_at is None and stage.state["revisions"][0]["superseded"] == {}
    with uow:
        assert [a.action for a in uow.audit.query(period.id, "X2") if a.action == "approval_void"] == ["approval_void"]


def test_the_period_file_then_names_the_new_version(world, tmp_path):
    """Moving a deadline after a revision: the period file names the new file; the old one is refused."""
    uow, _ = world
    (tmp_path / "v2.yaml").write_text(revised_text(), encoding="utf-8")
    rev.revise(uow, caller=ADMIN, criteria_set=revised(), reference=str(tmp_path / "v2.yaml"), now=LATER,
               mapping=SPLIT)
    moved = Deadlines(self_assessment_opens=OPENS, self_assessment_closes=CLOSES + timedelta(days=14))
    with pytest.raises(DomainError, match="period.criteria_locked"):
        periods.save_period(uow, caller=ADMIN, config=PeriodConfig(year=2020, criteria={"xa": "2020-xa.yaml"},
                                                                   deadlines=moved))
    with uow:
        config = uow.periods.current().config
    period = periods.save_period(uow, caller=ADMIN, config=config.model_copy(update={"deadlines": moved}))
    assert period.criteria_sets["xa"].spec.version == 2
    assert period.config.deadlines.self_assessment_closes == CLOSES + timedelta(days=14)


async def test_the_sender_delivers_one_notice_per_unit_through_the_emulator(world, emulator_server, ptb_bot):
    from parbot.bot.outbox_kinds import RENDERERS
    from parbot.bot.sender import Sender

    uow, who = world
    rev.revise(uow, caller=ADMIN, criteria_set=revised(), reference="v2.yaml", now=LATER, mapping=SPLIT)
    for telegram_id, name in ((100, "X1"), (101, "X2")):
        emulator_server.create_user(telegram_id, name).user.started = True
    await Sender(uow.engine, ptb_bot, renderers=RENDERERS, rate_global=1000,
                 now=lambda: LATER + timedelta(seconds=1)).drain()
    assert {n.status for n in revision_notices(uow)} == {"sent"}
    x1, x2 = (emulator_server.user(t).bot_messages() for t in (100, 101))
    assert len(x1) == len(x2) == 1
    assert "được mở lại" in x1[0].text and "được mở lại" not in x2[0].text
    assert x2[0].text.splitlines()[-1] == "Hãy trả lời các tiêu chí: 1.1.4a, 1.1.4b, 1.2.2."
    assert x1[0].inline_keyboard[0][0]["text"]


def test_a_notice_queued_before_notices_carried_versions_still_reads(world):
    """Rows queued by the previous release hold the whole label in "set" and no "versions"."""
    uow, who = world
    rev.revise(uow, caller=ADMIN, criteria_set=revised(), reference="v2.yaml", now=LATER, mapping=SPLIT)
    notice = next(n for n in revision_notices(uow) if n.payload["unit"] == "X1")
    old_payload = {k: v for k, v in notice.payload.items() if k != "versions"} | {"set": "par2020-xa v1 → v2"}
    rendered = render_notice(uow, notice.model_copy(update={"payload": old_payload}))
    assert rendered.text.splitlines()[0] == "🔄 Bộ tiêu chí đánh giá của Xã X1 đã được sửa đổi (par2020-xa v1 → v2)."
