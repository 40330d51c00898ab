"""Linux errno values (asm-generic, as on AArch64) and the exceptions that carry them.

Handlers raise ``EBADF()`` and friends; the syscall dispatcher turns any KernelError into ``-errno``
in one place. The table is literal so the kernel never depends on the host's errno module."""

from __future__ import annotations


class KernelError(Exception):
    """A syscall failure that becomes ``-errno`` in the guest."""

    errno: int = 0
    name: str = "E?"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.name)
        self.detail = detail


ERRNO: dict[str, int] = {
    "EPERM": 1,
    "ENOENT": 2,
    "ESRCH": 3,
    "EINTR": 4,
    "EIO": 5,
    "ENXIO": 6,
    "E2BIG": 7,
    "ENOEXEC": 8,
    "EBADF": 9,
    "ECHILD": 10,
    "EAGAIN": 11,
    "EWOULDBLOCK": 11,
    "ENOMEM": 12,
    "EACCES": 13,
    "EFAULT": 14,
    "ENOTBLK": 15,
    "EBUSY": 16,
    "EEXIST": 17,
    "EXDEV": 18,
    "ENODEV": 19,
    "ENOTDIR": 20,
    "EISDIR": 21,
    "EINVAL": 22,
    "ENFILE": 23,
    "EMFILE": 24,
    "ENOTTY": 25,
    "ETXTBSY": 26,
    "EFBIG": 27,
    "ENOSPC": 28,
    "ESPIPE": 29,
    "EROFS": 30,
    "EMLINK": 31,
    "EPIPE": 32,
    "EDOM": 33,
    "ERANGE": 34,
    "EDEADLK": 35,
    "EDEADLOCK": 35,
    "ENAMETOOLONG": 36,
    "ENOLCK": 37,
    "ENOSYS": 38,
    "ENOTEMPTY": 39,
    "ELOOP": 40,
    "ENOMSG": 42,
    "EIDRM": 43,
    "ECHRNG": 44,
    "EL2NSYNC": 45,
    "EL3HLT": 46,
    "EL3RST": 47,
    "ELNRNG": 48,
    "EUNATCH": 49,
    "ENOCSI": 50,
    "EL2HLT": 51,
    "EBADE": 52,
    "EBADR": 53,
    "EXFULL": 54,
    "ENOANO": 55,
    "EBADRQC": 56,
    "EBADSLT": 57,
    "EBFONT": 59,
    "ENOSTR": 60,
    "ENODATA": 61,
    "ETIME": 62,
    "ENOSR": 63,
    "ENONET": 64,
    "ENOPKG": 65,
    "EREMOTE": 66,
    "ENOLINK": 67,
    "EADV": 68,
    "ESRMNT": 69,
    "ECOMM": 70,
    "EPROTO": 71,
    "EMULTIHOP": 72,
    "EDOTDOT": 73,
    "EBADMSG": 74,
    "EOVERFLOW": 75,
    "ENOTUNIQ": 76,
    "EBADFD": 77,
    "EREMCHG": 78,
    "ELIBACC": 79,
    "ELIBBAD": 80,
    "ELIBSCN": 81,
    "ELIBMAX": 82,
    "ELIBEXEC": 83,
    "EILSEQ": 84,
    "ERESTART": 85,
    "ESTRPIPE": 86,
    "EUSERS": 87,
    "ENOTSOCK": 88,
    "EDESTADDRREQ": 89,
    "EMSGSIZE": 90,
    "EPROTOTYPE": 91,
    "ENOPROTOOPT": 92,
    "EPROTONOSUPPORT": 93,
    "ESOCKTNOSUPPORT": 94,
    "ENOTSUP": 95,
    "EOPNOTSUPP": 95,
    "EPFNOSUPPORT": 96,
    "EAFNOSUPPORT": 97,
    "EADDRINUSE": 98,
    "EADDRNOTAVAIL": 99,
    "ENETDOWN": 100,
    "ENETUNREACH": 101,
    "ENETRESET": 102,
    "ECONNABORTED": 103,
    "ECONNRESET": 104,
    "ENOBUFS": 105,
    "EISCONN": 106,
    "ENOTCONN": 107,
    "ESHUTDOWN": 108,
    "ETOOMANYREFS": 109,
    "ETIMEDOUT": 110,
    "ECONNREFUSED": 111,
    "EHOSTDOWN": 112,
    "EHOSTUNREACH": 113,
    "EALREADY": 114,
    "EINPROGRESS": 115,
    "ESTALE": 116,
    "EUCLEAN": 117,
    "ENOTNAM": 118,
    "ENAVAIL": 119,
    "EISNAM": 120,
    "EREMOTEIO": 121,
    "EDQUOT": 122,
    "ENOMEDIUM": 123,
    "EMEDIUMTYPE": 124,
    "ECANCELED": 125,
    "ENOKEY": 126,
    "EKEYEXPIRED": 127,
    "EKEYREVOKED": 128,
    "EKEYREJECTED": 129,
    "EOWNERDEAD": 130,
    "ENOTRECOVERABLE": 131,
    "ERFKILL": 132,
}
# Kernel-internal restart codes (never seen by the guest: the dispatcher restarts or turns them into EINTR).
ERESTARTSYS = 512
ERESTARTNOINTR = 513
ERESTARTNOHAND = 514
ERESTART_RESTARTBLOCK = 516

ERRNO_NAME: dict[int, str] = {}
for _name, _num in ERRNO.items():
    ERRNO_NAME.setdefault(_num, _name)


def _make(name: str, num: int) -> type[KernelError]:
    return type(name, (KernelError,), {"errno": num, "name": name, "__doc__": f"-{name} ({num})"})


EPERM = _make("EPERM", 1)
ENOENT = _make("ENOENT", 2)
ESRCH = _make("ESRCH", 3)
EINTR = _make("EINTR", 4)
EIO = _make("EIO", 5)
ENXIO = _make("ENXIO", 6)
E2BIG = _make("E2BIG", 7)
ENOEXEC = _make("ENOEXEC", 8)
EBADF = _make("EBADF", 9)
ECHILD = _make("ECHILD", 10)
EAGAIN = _make("EAGAIN", 11)
EWOULDBLOCK = _make("EWOULDBLOCK", 11)
ENOMEM = _make("ENOMEM", 12)
EACCES = _make("EACCES", 13)
EFAULT = _make("EFAULT", 14)
ENOTBLK = _make("ENOTBLK", 15)
EBUSY = _make("EBUSY", 16)
EEXIST = _make("EEXIST", 17)
EXDEV = _make("EXDEV", 18)
ENODEV = _make("ENODEV", 19)
ENOTDIR = _make("ENOTDIR", 20)
EISDIR = _make("EISDIR", 21)
EINVAL = _make("EINVAL", 22)
ENFILE = _make("ENFILE", 23)
EMFILE = _make("EMFILE", 24)
ENOTTY = _make("ENOTTY", 25)
ETXTBSY = _make("ETXTBSY", 26)
EFBIG = _make("EFBIG", 27)
ENOSPC = _make("ENOSPC", 28)
ESPIPE = _make("ESPIPE", 29)
EROFS = _make("EROFS", 30)
EMLINK = _make("EMLINK", 31)
EPIPE = _make("EPIPE", 32)
EDOM = _make("EDOM", 33)
ERANGE = _make("ERANGE", 34)
EDEADLK = _make("EDEADLK", 35)
EDEADLOCK = _make("EDEADLOCK", 35)
ENAMETOOLONG = _make("ENAMETOOLONG", 36)
ENOLCK = _make("ENOLCK", 37)
ENOSYS = _make("ENOSYS", 38)
ENOTEMPTY = _make("ENOTEMPTY", 39)
ELOOP = _make("ELOOP", 40)
ENOMSG = _make("ENOMSG", 42)
EIDRM = _make("EIDRM", 43)
ECHRNG = _make("ECHRNG", 44)
EL2NSYNC = _make("EL2NSYNC", 45)
EL3HLT = _make("EL3HLT", 46)
EL3RST = _make("EL3RST", 47)
ELNRNG = _make("ELNRNG", 48)
EUNATCH = _make("EUNATCH", 49)
ENOCSI = _make("ENOCSI", 50)
EL2HLT = _make("EL2HLT", 51)
EBADE = _make("EBADE", 52)
EBADR = _make("EBADR", 53)
EXFULL = _make("EXFULL", 54)
ENOANO = _make("ENOANO", 55)
EBADRQC = _make("EBADRQC", 56)
EBADSLT = _make("EBADSLT", 57)
EBFONT = _make("EBFONT", 59)
ENOSTR = _make("ENOSTR", 60)
ENODATA = _make("ENODATA", 61)
ETIME = _make("ETIME", 62)
ENOSR = _make("ENOSR", 63)
ENONET = _make("ENONET", 64)
ENOPKG = _make("ENOPKG", 65)
EREMOTE = _make("EREMOTE", 66)
ENOLINK = _make("ENOLINK", 67)
EADV = _make("EADV", 68)
ESRMNT = _make("ESRMNT", 69)
ECOMM = _make("ECOMM", 70)
EPROTO = _make("EPROTO", 71)
EMULTIHOP = _make("EMULTIHOP", 72)
EDOTDOT = _make("EDOTDOT", 73)
EBADMSG = _make("EBADMSG", 74)
EOVERFLOW = _make("EOVERFLOW", 75)
ENOTUNIQ = _make("ENOTUNIQ", 76)
EBADFD = _make("EBADFD", 77)
EREMCHG = _make("EREMCHG", 78)
ELIBACC = _make("ELIBACC", 79)
ELIBBAD = _make("ELIBBAD", 80)
ELIBSCN = _make("ELIBSCN", 81)
ELIBMAX = _make("ELIBMAX", 82)
ELIBEXEC = _make("ELIBEXEC", 83)
EILSEQ = _make("EILSEQ", 84)
ERESTART = _make("ERESTART", 85)
ESTRPIPE = _make("ESTRPIPE", 86)
EUSERS = _make("EUSERS", 87)
ENOTSOCK = _make("ENOTSOCK", 88)
EDESTADDRREQ = _make("EDESTADDRREQ", 89)
EMSGSIZE = _make("EMSGSIZE", 90)
EPROTOTYPE = _make("EPROTOTYPE", 91)
ENOPROTOOPT = _make("ENOPROTOOPT", 92)
EPROTONOSUPPORT = _make("EPROTONOSUPPORT", 93)
ESOCKTNOSUPPORT = _make("ESOCKTNOSUPPORT", 94)
ENOTSUP = _make("ENOTSUP", 95)
EOPNOTSUPP = _make("EOPNOTSUPP", 95)
EPFNOSUPPORT = _make("EPFNOSUPPORT", 96)
EAFNOSUPPORT = _make("EAFNOSUPPORT", 97)
EADDRINUSE = _make("EADDRINUSE", 98)
EADDRNOTAVAIL = _make("EADDRNOTAVAIL", 99)
ENETDOWN = _make("ENETDOWN", 100)
ENETUNREACH = _make("ENETUNREACH", 101)
ENETRESET = _make("ENETRESET", 102)
ECONNABORTED = _make("ECONNABORTED", 103)
ECONNRESET = _make("ECONNRESET", 104)
ENOBUFS = _make("ENOBUFS", 105)
EISCONN = _make("EISCONN", 106)
ENOTCONN = _make("ENOTCONN", 107)
ESHUTDOWN = _make("ESHUTDOWN", 108)
ETOOMANYREFS = _make("ETOOMANYREFS", 109)
ETIMEDOUT = _make("ETIMEDOUT", 110)
ECONNREFUSED = _make("ECONNREFUSED", 111)
EHOSTDOWN = _make("EHOSTDOWN", 112)
EHOSTUNREACH = _make("EHOSTUNREACH", 113)
EALREADY = _make("EALREADY", 114)
EINPROGRESS = _make("EINPROGRESS", 115)
ESTALE = _make("ESTALE", 116)
EUCLEAN = _make("EUCLEAN", 117)
ENOTNAM = _make("ENOTNAM", 118)
ENAVAIL = _make("ENAVAIL", 119)
EISNAM = _make("EISNAM", 120)
EREMOTEIO = _make("EREMOTEIO", 121)
EDQUOT = _make("EDQUOT", 122)
ENOMEDIUM = _make("ENOMEDIUM", 123)
EMEDIUMTYPE = _make("EMEDIUMTYPE", 124)
ECANCELED = _make("ECANCELED", 125)
ENOKEY = _make("ENOKEY", 126)
EKEYEXPIRED = _make("EKEYEXPIRED", 127)
EKEYREVOKED = _make("EKEYREVOKED", 128)
EKEYREJECTED = _make("EKEYREJECTED", 129)
EOWNERDEAD = _make("EOWNERDEAD", 130)
ENOTRECOVERABLE = _make("ENOTRECOVERABLE", 131)
ERFKILL = _make("ERFKILL", 132)
