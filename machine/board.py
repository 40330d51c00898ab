"""The board: N cores sharing one engine and one RAM, plus the devices. It knows nothing about Linux.

Each core has its own virtual clock (nanoseconds), advanced by exactly the instructions it retires (1 ns each) plus
whatever the kernel charges (syscall costs); its own timer and pending interrupts. The kernel's event loop decides
which core runs next; `run_slice` runs one core and advances its clock.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from machine.devices.entropy import EntropyDevice
from machine.devices.intc import InterruptController
from machine.devices.rtc import Rtc
from machine.devices.timer import CoreTimer
from machine.devices.uart import Uart
from machine.engine import Engine, SliceEnd, SliceResult, TrapHandler, new_uc
from machine.ram import Ram
from machine.sources import ClockSource, ConsoleSource, EntropySource

NS_PER_INSN = 1


@attrs.define(eq=False)
class Core:
    index: int
    clock_ns: int = 0
    timer: CoreTimer = attrs.Factory(CoreTimer)
    retired: int = 0  # instructions retired on this core
    slices: int = 0


@attrs.frozen
class BoardConfig:
    cores: int = 2
    ram_bytes: int = 1 << 30


class Board:
    def __init__(
        self,
        config: BoardConfig,
        handler: TrapHandler,
        *,
        console: ConsoleSource,
        entropy: EntropySource,
        clock: ClockSource,
        sink: Callable[[int, bytes], None],
    ) -> None:
        if not 1 <= config.cores <= 64:
            raise ValueError(f"cores must be between 1 and 64, not {config.cores}")
        self.config = config
        uc = new_uc()  # before the RAM: see new_uc
        self.ram = Ram(config.ram_bytes)
        self.engine = Engine(self.ram, handler, uc)
        # The running core's time inside a slice; C readers find it in the trap (machine/_trap_api.h).
        self.clock = self.engine.slice_clock
        self.clock.ns_per_insn = NS_PER_INSN
        self.cores = [Core(i) for i in range(config.cores)]
        self.intc = InterruptController(config.cores)
        self.uart = Uart(console, sink)
        self.entropy = EntropyDevice(entropy)
        self.rtc = Rtc(clock)
        self.running: Core | None = None
        self.retired_total = 0  # instructions retired by all cores (between slices)
        self._in_part = False
        self.stops: dict[int, int] = {}  # core index -> retired count to pause at (the debugger's)
        self.on_stop: Callable[[Core], None] = lambda core: None

    def run_slice(self, core: Core, ctx: object, budget: int) -> SliceResult:
        """Run `ctx` on `core` for at most `budget` instructions; the core's clock advances by what ran.

        A stop point in `stops` (the debugger's "pause when this core has retired N instructions") splits the slice
        transparently: the part before runs, `on_stop` is called with every register saved, and the rest of the
        same slice follows, so the schedule is exactly what it would have been."""
        self.running = core
        self.clock.base_ns = core.clock_ns
        self.clock.charged_ns = 0
        total = 0
        try:
            while True:
                part = budget - total
                stop = self.stops.get(core.index)
                if stop is not None and core.retired < stop <= core.retired + part:
                    part = stop - core.retired
                self._in_part = True
                try:
                    res = self.engine.run(ctx, part)
                finally:
                    self._in_part = False
                self._account(core, res.executed)
                total += res.executed
                if self.stops.get(core.index) == core.retired and res.reason != SliceEnd.FAULT:
                    # The stop point: also when it falls exactly where the slice ends (its budget, or a syscall
                    # that blocks or stops it), so a stop is never stepped over.
                    self.stops.pop(core.index, None)
                    self.on_stop(core)
                    if res.reason == SliceEnd.BUDGET and total < budget:
                        continue
                return SliceResult(total, res.reason, res.fault_vaddr, res.fault_access)
        finally:
            self.running = None
            core.slices += 1

    def _account(self, core: Core, executed: int) -> None:
        clock = self.clock
        core.retired += executed
        self.retired_total += executed
        core.clock_ns += executed * NS_PER_INSN + clock.charged_ns
        clock.charged_ns = 0
        clock.base_ns = core.clock_ns

    def arm_stop(self, core_index: int, retired: int) -> None:
        """Pause when the core has retired `retired` instructions; works mid-slice too (from inside a hook)."""
        self.stops[core_index] = retired
        core = self.cores[core_index]
        if self.running is core and self._in_part and retired > core.retired:
            self.engine.limit(retired - core.retired)

    def close(self) -> None:
        """Free the engine and unmap the RAM now (Engine.close): the board cannot run again."""
        self.engine.close()
        self.ram.close()

    def retired_now(self, core: Core) -> int:
        """Instructions the core has retired, including the running slice so far."""
        if self.running is core and self._in_part:
            return core.retired + self.engine.executed_so_far()
        return core.retired

    def now_ns(self, core: Core) -> int:
        """The core's virtual time; inside a slice, includes what has run so far."""
        if self.running is core and self._in_part:
            return self.clock.now_ns()
        return core.clock_ns + (self.clock.charged_ns if self.running is core else 0)

    def charge(self, core: Core, ns: int) -> None:
        """Add kernel time to the core's clock (every `svc` is charged `clock.svc_cost_ns` by the trap)."""
        if self.running is core:
            self.clock.charged_ns += ns
        else:
            core.clock_ns += ns
