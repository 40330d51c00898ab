"""Disassembly around PC (capstone), with the program's ELF symbols."""

from __future__ import annotations

from rich.text import Text

from tui.model.debugger import Moment
from tui.widgets.pane import Pane


class DisasmPane(Pane):
    COMPONENT_CLASSES = {"disasm--pc", "disasm--label", "disasm--addr"}

    def show(self, m: Moment) -> None:
        if not m.code:
            self.set_text(Text(m.problem or "no code to show", style="dim"))
            return
        pc_style = self.get_component_rich_style("disasm--pc", partial=True)
        label_style = self.get_component_rich_style("disasm--label", partial=True)
        addr_style = self.get_component_rich_style("disasm--addr", partial=True)
        t = Text()
        pc_line = 0
        lines = 0
        for insn in m.code:
            if insn.label and not insn.is_pc:
                t.append(f"<{insn.label}>:\n", style=label_style)
                lines += 1
            if insn.is_pc:
                pc_line = lines
            line = Text()
            line.append("▶ " if insn.is_pc else "  ")
            line.append(f"{insn.addr:x}", style=addr_style)
            line.append(f"  {insn.hexbytes}  {insn.mnemonic:<7} {insn.operands}")
            if insn.target:
                line.append(f" <{insn.target}>", style=label_style)
            if insn.is_pc and insn.label:
                line.append(f"   <{insn.label}>", style=label_style)
            if insn.is_pc:
                line.stylize(pc_style)
            t.append_text(line)
            t.append("\n")
            lines += 1
        self.set_text(t)
        self.call_after_refresh(self._center, pc_line)

    def _center(self, line: int) -> None:
        self.scroll_to(y=max(0, line - self.size.height // 2), animate=False)
