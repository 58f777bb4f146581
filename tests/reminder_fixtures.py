"""A province for reminder tests: a 2025 period, units in two blocks, officers, leaders and admins."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from callers import ADMIN

from parbot.core.model import Block, Unit, UnitStage
from parbot.core.period import PeriodConfig
from parbot.core.permissions import Grant, Role
from parbot.core.services.periods import save_period

VN = timezone(timedelta(hours=7))
OPENS = datetime(2025, 12, 1, 8, 0, tzinfo=VN)
CLOSES = datetime(2025, 12, 31, 17, 0, tzinfo=VN)


def period_config(closes: datetime = CLOSES, opens: datetime | None = None, **reminders) -> PeriodConfig:
    """The 2025 period; with a deadline of another year, the stage opens a month before and stands alone."""
    later = {"appraisal_round1_closes": datetime(2026, 1, 20, 17, tzinfo=VN),
             "explanation_closes": datetime(2026, 1, 27, 17, tzinfo=VN)} if closes < datetime(2026, 1, 20, tzinfo=VN) \
        and closes > OPENS else {}
    opens = opens or (OPENS if closes > OPENS else closes - timedelta(days=30))
    return PeriodConfig.model_validate({
        "year": 2025, "criteria": {"tinh": "2025.yaml", "xa": "2025.yaml"},
        "deadlines": {"self_assessment_opens": opens, "self_assessment_closes": closes, **later},
        "reminders": reminders})


def make_province(uow, units: int = 4, officers_per_unit: int = 1, *, leaders: bool = True, admins: int = 1,
                  config: PeriodConfig | None = None, telegram_base: int = 10_000) -> dict:
    """Units T001.. (block tinh) and X001.. (block xa) alternating; returns {role: [(person, unit)]}."""
    save_period(uow, caller=ADMIN, config=config or period_config())
    people: dict[str, list] = {"officer": [], "unit_leader": [], "admin": []}
    tid = telegram_base
    with uow:
        uow.blocks.upsert(Block("tinh", "Cơ quan chuyên môn cấp tỉnh"))
        uow.blocks.upsert(Block("xa", "UBND cấp xã"))
        for n in range(units):
            block = "tinh" if n % 2 == 0 else "xa"
            code = f"{block[0].upper()}{n:04d}"
            uow.units.upsert(Unit(code, f"Đơn vị {n}", block))
            roles = [Role.OFFICER] * officers_per_unit + ([Role.UNIT_LEADER] if leaders else [])
            for role in roles:
                tid += 1
                person = uow.people.ensure(tid, tid, f"Cán bộ {tid}", None, "vi")
                uow.roles.add(person.id, Grant(role, code))
                people[role.value].append((person, code))
        for _ in range(admins):
            tid += 1
            person = uow.people.ensure(tid, tid, f"Quản trị {tid}", None, "vi")
            uow.roles.add(person.id, Grant(Role.ADMIN))
            people["admin"].append((person, None))
        uow.commit()
    return people


def submit(uow, unit_code: str, at: datetime, year: int = 2025) -> None:
    with uow:
        period = uow.periods.get(year)
        uow.stages.put(period.id, UnitStage(unit_code=unit_code, submitted_at=at))
        uow.commit()
