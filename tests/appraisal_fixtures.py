"""A small province for the appraisal, survey and publication tests: three blocks, two assessed areas (the
second appraised by Sở Tài chính), a survey area, district H01 with communes X1 and X2, district H02 with X3."""
from __future__ import annotations

import textwrap
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from parbot.core.model import Answer, Score, UnitStage
from parbot.core.permissions import Caller, Grant, Role
from parbot.core.services import periods, units
from parbot.core.services.scores import put_score
from parbot.core.services.tabular import Row

YEAR = 2020
CRITERIA = """\
format: parbot/criteria-set@1
code: T-2020
year: 2020
title: Bộ tiêu chí thử nghiệm
blocks:
  - {code: so, name: "Sở, ban, ngành"}
  - {code: huyen, name: UBND cấp huyện}
  - {code: xa, name: UBND cấp xã}
areas:
  - code: "1"
    name: Công tác chỉ đạo, điều hành
    criteria:
      - {code: "1.1", name: Kế hoạch CCHC, max: 2, rule: {kind: points, step: 0.25}}
      - {code: "1.2", name: Báo cáo CCHC, max: 1, rule: {kind: yes_no}}
  - code: "2"
    name: Tài chính công
    criteria:
      - {code: "2.1", name: Quản lý ngân sách, max: 3, rule: {kind: points, step: 0.25}}
      - {code: "2.2", name: Thu hồi nợ, max: 1, not_applicable: true, rule: {kind: points, step: 0.25}}
  - code: "3"
    name: Điều tra xã hội học
    criteria:
      - code: "3.1"
        name: Khảo sát
        items:
          - {code: "3.1.1", name: Hài lòng về thủ tục, max: 2, evidence: none, rule: {kind: survey}}
          - {code: "3.1.2", name: Hài lòng về thái độ, max: 1, evidence: none, rule: {kind: survey}}
"""
PERIOD = """\
year: 2020
criteria: {so: t.yaml, huyen: t.yaml, xa: t.yaml}
deadlines:
  self_assessment_opens: 2020-12-01T08:00:00+07:00
  self_assessment_closes: 2021-01-15T17:00:00+07:00
  appraisal_round1_closes: 2021-01-31T17:00:00+07:00
  explanation_closes: 2021-02-07T17:00:00+07:00
  appraisal_round2_closes: 2021-02-21T17:00:00+07:00
appraisal:
  - {areas: ["so:2", "huyen:2"], appraiser_units: [STC]}
"""
UNITS = [("SNV", "Sở Nội vụ", "so", ""), ("STC", "Sở Tài chính", "so", ""),
         ("H01", "Thành phố An Bình", "huyen", ""), ("H02", "Huyện Tân Hưng", "huyen", ""),
         ("X1", "Phường Hòa Thuận", "xa", "H01"), ("X2", "Xã An Phú", "xa", "H01"), ("X3", "Xã Tân Lập", "xa", "H02")]
# Self points every unit gives itself (2.2 "not applicable").
SELF = {"1.1": "2", "1.2": "1", "2.1": "3", "2.2": "na"}
T0 = datetime(2021, 1, 20, 3, 0, tzinfo=timezone.utc)  # during round 1
IN_EXPLANATION = datetime(2021, 2, 3, 3, 0, tzinfo=timezone.utc)
AFTER_EXPLANATION = datetime(2021, 2, 10, 3, 0, tzinfo=timezone.utc)
ADMIN = Caller.admin("cli:chair")  # the command line: the chair of the appraisal council


def build(uow, tmp_path: Path, submit: tuple[str, ...] = tuple(u[0] for u in UNITS)) -> None:
    (tmp_path / "t.yaml").write_text(CRITERIA, encoding="utf-8")
    (tmp_path / "period.yaml").write_text(textwrap.dedent(PERIOD), encoding="utf-8")
    period = periods.create_from_file(uow, caller=ADMIN, path=tmp_path / "period.yaml")  # registers the blocks
    rows = [Row(n, {"code": c, "name": name, "block": b, "parent": p}) for n, (c, name, b, p) in enumerate(UNITS, 2)]
    units.import_units(uow, caller=ADMIN, header=["code", "name", "block", "parent"], rows=rows)
    with uow:
        for code, *_ in UNITS:
            for item, text in SELF.items():
                na = text == "na"
                points = None if na else Decimal(text)
                uow.answers.put(period.id, Answer(unit_code=code, item_code=item, value={} if na else {"points": text},
                                                  not_applicable=na, points=points, explanation="Đã có báo cáo"))
                put_score(uow, period, Score(unit_code=code, item_code=item, source="self", points=points,
                                             not_applicable=na, by="person:0"), "person:0")
            if code in submit:
                uow.stages.put(period.id, UnitStage(unit_code=code, submitted_at=T0))
        uow.commit()


def person(uow, telegram_id: int, *grants: Grant) -> int:
    with uow:
        someone = uow.people.ensure(telegram_id, telegram_id, f"Người {telegram_id}", None, "vi")
        for grant in grants:
            uow.roles.add(someone.id, grant)
        uow.commit()
    return someone.id


COUNCIL = Grant(Role.APPRAISER, block="so")
COUNCIL_HUYEN = Grant(Role.APPRAISER, block="huyen")
COUNCIL_XA = Grant(Role.APPRAISER, block="xa")
H01_COUNCIL = Grant(Role.APPRAISER, unit_code="H01", block="xa")
