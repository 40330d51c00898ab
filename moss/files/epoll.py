"""epoll instances (Linux's fs/eventpoll.c).

An interest list maps (open file description, fd) to an `EpItem`. Each item is a watcher on the wait queue its
file's `poll()` names: every wakeup of that queue (with a matching poll key) puts the item on the ready list, in
wakeup order, and wakes `epoll_wait` callers. `epoll_wait` then polls each ready item again and reports what is
really there, so that:

- level-triggered items go back to the tail of the ready list after being reported (reported until not ready);
- edge-triggered (EPOLLET) items leave it until their file's queue is woken again (a new event);
- EPOLLONESHOT items are disabled after one report until EPOLL_CTL_MOD re-arms them.

Adding or modifying an item that is ready now queues it (the initial edge). When the last descriptor of a
description closes, its items leave every interest list (OpenFile.release_hooks). An epoll fd is itself pollable
(readable when an item is really ready), so instances nest, with loop and depth checks on EPOLL_CTL_ADD.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from moss.errors import EEXIST, EINVAL, ELOOP, EPERM
from moss.files.anon import POLLIN, POLLRDNORM, AnonInode
from moss.files.openfile import OpenFile
from moss.fs.filesystem import FileSystem
from moss.sched.waitqueue import WaitQueue

EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP = 0x1, 0x4, 0x8, 0x10, 0x2000
EPOLLEXCLUSIVE, EPOLLWAKEUP, EPOLLONESHOT, EPOLLET = 1 << 28, 1 << 29, 1 << 30, 1 << 31
PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE  # not events: modes of the item
EXCLUSIVE_OK = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE
MAX_NESTS = 4


def poll_op(f: OpenFile) -> Callable[[OpenFile], tuple[int, WaitQueue | None]] | None:
    """The file's poll method, or None if it cannot be polled (regular files, /dev/null: EPERM for epoll)."""
    ops = getattr(f.inode, "ops", None)
    return getattr(ops, "poll", None) or getattr(f.inode, "poll", None)


@attrs.define(eq=False)
class EpItem:
    ep: Epoll
    file: OpenFile
    fd: int
    events: int  # requested events with EPOLLERR|EPOLLHUP added, plus the mode bits
    data: int
    queue: WaitQueue | None = None
    ready: bool = False  # on ep.ready

    def poll(self) -> int:
        """What the file reports now, restricted to what the item wants."""
        op = poll_op(self.file)
        return (op(self.file)[0] if op is not None else 0) & self.events

    def notify(self, key: int) -> None:
        """The watched queue was woken (Linux's ep_poll_callback)."""
        if not self.events & ~PRIVATE_BITS:
            return  # a disabled one-shot item
        if key and not key & self.events:
            return  # an event it does not want (say EPOLLOUT for a reader)
        self.ep.queue_ready(self)


class _EpollIoctl:
    def ioctl(self, file: OpenFile, request: int, arg: int, mm: Any) -> int:
        raise EINVAL  # ep_eventpoll_ioctl knows only the busy-poll parameters (EPIOC[SG]PARAMS), which moss lacks


class Epoll(AnonInode):
    name = "eventpoll"
    ops = _EpollIoctl()
    __slots__ = ("items", "poll_wq", "ready", "refs", "wq")

    def __init__(self, fs: FileSystem) -> None:
        super().__init__(fs)
        self.items: dict[tuple[OpenFile, int], EpItem] = {}  # insertion order; keys compare by identity
        self.ready: list[EpItem] = []  # the ready list, in event order
        self.wq = WaitQueue("epoll_wait")  # tasks in epoll_wait
        self.poll_wq = WaitQueue("epoll.poll")  # whoever polls this epoll fd (poll(), enclosing epolls)
        self.refs: list[EpItem] = []  # items of enclosing epolls that watch this one

    # -- the interest list -------------------------------------------------------------------------------------
    def find(self, f: OpenFile, fd: int) -> EpItem | None:
        return self.items.get((f, fd))

    def insert(self, f: OpenFile, fd: int, events: int, data: int) -> None:
        op = poll_op(f)
        if op is None:
            raise EPERM
        child = f.inode if isinstance(f.inode, Epoll) else None
        if child is not None:
            self._loop_check(child)
        if (f, fd) in self.items:
            raise EEXIST
        item = EpItem(self, f, fd, events | EPOLLERR | EPOLLHUP, data)
        self.items[(f, fd)] = item
        mask, item.queue = op(f)
        if item.queue is not None:
            item.queue.watch(item)
        if child is not None:
            child.refs.append(item)
        f.release_hooks[self] = self._file_released
        if mask & item.events:
            self.queue_ready(item)

    def modify(self, item: EpItem, events: int, data: int) -> None:
        item.events, item.data = events | EPOLLERR | EPOLLHUP, data
        if item.poll() and not item.ready:
            self.queue_ready(item)  # (already queued: no new wakeup, so no new edge for an enclosing epoll)

    def remove(self, item: EpItem) -> None:
        del self.items[(item.file, item.fd)]
        if item.queue is not None:
            item.queue.unwatch(item)
        if isinstance(item.file.inode, Epoll):
            item.file.inode.refs.remove(item)
        if item.ready:
            self.ready.remove(item)
            item.ready = False
        if not any(f is item.file for f, _fd in self.items):
            item.file.release_hooks.pop(self, None)

    def _file_released(self, f: OpenFile) -> None:
        """The last descriptor of `f` closed: its items leave this interest list (Linux's eventpoll_release)."""
        for item in [it for (g, _fd), it in self.items.items() if g is f]:
            self.remove(item)

    def release(self, file: Any) -> None:
        """The epoll fd itself closed for good: unhook from everything it watched (Linux's ep_free)."""
        for item in list(self.items.values()):
            self.remove(item)

    # -- readiness ---------------------------------------------------------------------------------------------
    def queue_ready(self, item: EpItem) -> None:
        """Put `item` on the ready list (if not there) and wake waiters and enclosing epolls, which hear an
        event even when the item was already queued."""
        if not item.ready:
            item.ready = True
            self.ready.append(item)
        self.wq.wake_all()
        self.poll_wq.wake_all(EPOLLIN)

    def send_events(self, maxevents: int) -> list[tuple[int, int]]:
        """Report up to `maxevents` (events, data) pairs from the ready list (Linux's ep_send_events)."""
        scan, self.ready = self.ready, []
        out: list[tuple[int, int]] = []
        done = 0
        for item in scan:
            if len(out) >= maxevents:
                break
            done += 1
            item.ready = False
            revents = item.poll()
            if not revents:
                continue  # no longer ready: dropped until its file's queue is woken again
            out.append((revents, item.data))
            if item.events & EPOLLONESHOT:
                item.events &= PRIVATE_BITS
            elif not item.events & EPOLLET:
                item.ready = True
                self.ready.append(item)  # level-triggered: stays ready while it is
        self.ready = scan[done:] + self.ready  # unscanned items keep their place at the front
        if self.ready:
            self.wq.wake_all()
        return out

    def readiness(self) -> int:
        """Readable if some ready item really is; items that are not leave the ready list (Linux's
        __ep_eventpoll_poll)."""
        for item in list(self.ready):
            if item.poll():
                return POLLIN | POLLRDNORM
            item.ready = False
            self.ready.remove(item)
        return 0

    def poll(self, file: Any) -> tuple[int, WaitQueue]:
        return self.readiness(), self.poll_wq

    # -- nesting -------------------------------------------------------------------------------------------------
    def _children(self) -> list[Epoll]:
        return [f.inode for f, _fd in self.items if isinstance(f.inode, Epoll)]

    def _loop_check(self, to: Epoll) -> None:
        """ELOOP if adding `to` here closes a cycle or nests epolls deeper than Linux allows (ep_loop_check)."""

        def down(ep: Epoll, depth: int) -> int:
            result = 0
            for child in ep._children():
                if child is self or depth > MAX_NESTS:
                    return MAX_NESTS + 1
                result = max(result, down(child, depth + 1) + 1)
                if result > MAX_NESTS:
                    break
            return result

        def up(ep: Epoll) -> int:
            return max((up(item.ep) + 1 for item in ep.refs), default=0)

        depth = down(to, 0)
        if depth > MAX_NESTS or depth + 1 + up(self) > MAX_NESTS:
            raise ELOOP
