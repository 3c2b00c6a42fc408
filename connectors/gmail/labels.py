"""Label names ↔ ids. The model speaks names ('Follow up', 'UNREAD'); Gmail wants ids ('Label_7')."""
from __future__ import annotations

from typing import Optional

from connectors.base import ToolError
from connectors.google.auth import GoogleSession

FIXED = {"SENT", "DRAFT"}


class Labels:
    def __init__(self, g: GoogleSession):
        self.g = g
        self._by_id: Optional[dict[str, dict]] = None

    @property
    def by_id(self) -> dict[str, dict]:
        if self._by_id is None:
            found = self.g.call(self.g.gmail.labels().list(userId="me"), "listing labels")
            self._by_id = {lab["id"]: lab for lab in found.get("labels", [])}
        return self._by_id

    def name(self, label_id: str) -> str:
        return self.by_id.get(label_id, {}).get("name", label_id)

    def names(self, ids: list[str]) -> list[str]:
        return [self.name(i) for i in ids]

    def find(self, name: str) -> Optional[str]:
        wanted = name.strip()
        if not wanted:
            raise ToolError("empty label name")
        if wanted.upper() in FIXED:
            raise ToolError(f"label {wanted.upper()} cannot be added or removed")
        for lab in self.by_id.values():
            if lab["id"] == wanted or (lab["id"] == wanted.upper() and lab.get("type") == "system"):
                return lab["id"]
        for lab in self.by_id.values():
            if lab.get("name", "").lower() == wanted.lower():
                return lab["id"]
        return None

    def resolve(self, names: list[str], *, create: bool) -> tuple[list[str], list[str]]:
        """Ids for `names`; with `create`, missing user labels are created. Returns (ids, created)."""
        ids, created = [], []
        for name in names:
            label_id = self.find(name)
            if label_id is None and not create:
                raise ToolError(f"there is no label {name!r} in this mailbox; use gmail_list_labels")
            if label_id is None:
                made = self.g.call(self.g.gmail.labels().create(userId="me", body={
                    "name": name.strip(), "labelListVisibility": "labelShow", "messageListVisibility": "show"}),
                    f"creating label {name!r}")
                self.by_id[made["id"]] = made
                label_id = made["id"]
                created.append(made.get("name", name))
            if label_id not in ids:
                ids.append(label_id)
        return ids, created
