"""What an import could not carry over: one `Unmapped` per source key, with where and why."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Unmapped:
    """A setting of the JAiRouter file that has no place in the imported config."""

    file: str
    line: int | None  # 1-based
    column: int | None  # 1-based
    key: str  # dotted path in the source, e.g. model.services.chat.instances[0].instance-id
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.key}: {self.reason}"


@dataclass
class Report:
    """Collects, while converting, what was left out (`unmapped`) and how settings were
    approximated (`notes`, written once each into the output's header)."""

    file: str
    unmapped: list[Unmapped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def leave_out(self, key: str, position: tuple[int | None, int | None], reason: str) -> None:
        self.unmapped.append(Unmapped(self.file, *position, key, reason))

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
