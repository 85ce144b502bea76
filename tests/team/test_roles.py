"""The roles and the permission matrix: every role and permission covered, admins may do
everything, an unknown role nothing, and docs/permissions.md generated from the table."""

from __future__ import annotations

from pathlib import Path

from jalsa.team import ALLOWS, MATRIX, Perm, Role, allowed, matrix_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def test_docs_permissions_md_is_generated_from_the_matrix() -> None:
    assert DOCS.read_text(encoding="utf-8") == matrix_markdown(), (
        "docs/permissions.md is out of date: write matrix_markdown() into it"
    )


def test_matrix_covers_every_role_and_admin_has_everything() -> None:
    assert set(MATRIX) == set(Role)
    assert set(ALLOWS) == set(Perm), "say in ALLOWS what every permission allows"
    assert all(MATRIX[Role.ADMIN] >= perms for perms in MATRIX.values())


def test_an_unknown_role_is_allowed_nothing() -> None:
    assert not any(allowed("superuser", p) for p in Perm)
    assert all(allowed("admin", p) for p in Perm)
