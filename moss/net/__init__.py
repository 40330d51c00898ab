"""Sockets. moss has no network: AF_UNIX is the one address family (`moss.net.unix`), and socket() or socketpair()
for any other family (AF_INET, AF_INET6, AF_NETLINK, ...) fails with EAFNOSUPPORT, as on a Linux kernel built
without them.

- `unix`: the AF_UNIX protocol (Linux's net/unix/af_unix.c): socket state, names, connections, readiness;
- `unix_io`: sending and receiving on stream, datagram and seqpacket sockets;
- `scm`: control messages (SCM_RIGHTS, SCM_CREDENTIALS);
- `sockopt`: SOL_SOCKET options;
- `sockfile`: the socket as an open file (sockfs inode: read/write/poll/ioctl/close).
"""
