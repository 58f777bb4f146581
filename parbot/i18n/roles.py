"""A grant as a person reads it: the role's Vietnamese (or English) name and its scope by unit and block
names, never the codes ("officer", "unit_leader", "so") stored in the database."""
from __future__ import annotations

from collections.abc import Mapping

from ..core.permissions import Grant, Role
from . import t


def role_name(role: Role | str, lang: str | None) -> str:
    """The role alone, for a table whose unit and block have columns of their own."""
    return t(f"role_name.{Role(role).value}", lang)


def grant_text(grant: Grant, lang: str | None, units: Mapping[str, str] | None = None,
               blocks: Mapping[str, str] | None = None) -> str:
    """``units`` and ``blocks`` map codes to names; a code without a name is shown as it is."""
    unit = (units or {}).get(grant.unit_code, grant.unit_code) if grant.unit_code else ""
    block = (blocks or {}).get(grant.block, grant.block) if grant.block else ""
    key = f"grant.{grant.role.value}"
    if grant.role is Role.APPRAISER:
        key += ".council" if unit and block else ".unit" if unit else ".block"
    return t(key, lang, unit=unit, block=block)
