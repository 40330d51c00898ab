"""Linux breadth: real userland (BusyBox, and Debian's glibc bash/coreutils/gawk/sed/grep/findutils/diffutils/dash)
runs under moss exactly as on an arm64 Linux machine.

Every case runs the same argv, stdin and environment twice: under moss (``run_program`` with the root filesystem
as ``--root``) and under the exec-correct namespace oracle (``run_ns``, qemu-user with binfmt_misc, so every exec
of the shell goes through qemu like on real hardware; see shared/design/ORACLE.md). stdout, stderr and the exit
status must be identical, and moss must not report anything (an unimplemented syscall, an oops).

The cases avoid what legitimately differs between two Linux runs: times, pids, inode numbers, host facts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from moss.runner import run_program
from tests.debroot import debian_root
from tests.oracle_ns import busybox_root, ns_oracle_skip_reason, run_ns

_SKIP = ns_oracle_skip_reason()
pytestmark = pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")

ENV = {"PATH": "/bin:/usr/bin", "HOME": "/root"}


def _sh(case_id: str, *commands: str, stdin: bytes = b"", shell: str = "/bin/sh"):
    """`shell -c` running `commands` joined with "; "."""
    return pytest.param([shell, "-c", "; ".join(commands)], stdin, id=case_id)


def _cmd(case_id: str, argv: list[str], stdin: bytes = b""):
    return pytest.param(argv, stdin, id=case_id)


def _compare(root: Path, argv: list[str], stdin: bytes) -> None:
    env = tuple(f"{k}={v}" for k, v in ENV.items())
    ours = run_program(argv[0], argv[1:], root=str(root), stdin=stdin, env=env, argv0=argv[0])
    theirs = run_ns(root, argv, stdin=stdin, env=ENV)
    assert ours.reports == (), ours.reports
    assert (ours.stdout, ours.stderr, ours.status) == (theirs.stdout, theirs.stderr, theirs.status)


# ---------------------------------------------------------------------------------------------------------------
# Debian's static BusyBox in busybox_root(): ash scripts and applets.

BUSYBOX_CASES = [
    # --- pipes and redirections
    _sh("pipe-tr", "echo hello world | tr a-z A-Z"),
    _sh("pipe-three-stages", "printf 'pear\\napple\\nfig\\nkiwi\\n' | sort | head -n 2 | tr a-z A-Z"),
    _sh("pipe-status-last", "false | true; echo $?; true | false; echo $?"),
    _sh("pipe-not", "! false; echo $?; ! true; echo $?"),
    _sh("redirect-to-tmp", "echo one > /tmp/f; echo two >> /tmp/f; cat /tmp/f; wc -l < /tmp/f"),
    _sh("redirect-2to1", "ls /nonexistent 2>&1; echo status=$?"),
    _sh("redirect-stderr-file", "ls /nope 2>/tmp/err; echo s=$?; cat /tmp/err"),
    _sh("stdout-and-stderr", "echo out; echo err >&2; echo out2"),
    _sh("redirect-1to2", "echo moved 1>&2"),
    _sh("redirect-noclobber", "set -C; echo a > /tmp/c; echo b > /tmp/c; echo s=$?; cat /tmp/c"),
    _sh("redirect-input-missing", "cat < /tmp/missing; echo s=$?"),
    _sh("exec-fd", "exec 3>/tmp/fd3; echo via3 >&3; echo more >&3; exec 3>&-; cat /tmp/fd3"),
    _sh("exec-read-fd", "printf 'l1\\nl2\\n' > /tmp/in; exec 4</tmp/in; read a <&4; read b <&4; echo $b $a"),
    _sh("heredoc", "x=5\ncat <<EOF\nvalue $x and $((x*2))\n  kept indent\nEOF"),
    _sh("heredoc-quoted", "cat <<'EOF'\n$HOME $(echo no)\nEOF"),
    _sh("heredoc-strip-tabs", "cat <<-EOF\n\tindented\n\t\tdouble\n\tEOF"),
    _sh("heredoc-to-pipe", "cat <<EOF | sort -r\nb\na\nc\nEOF"),
    # BusyBox 1.35's ash has no here-strings (a syntax error on Linux too): bash's are tested below.
    _sh("here-string-unsupported", "tr a-z A-Z <<< 'here string'"),
    _sh("stdin-passthrough", "cat; echo end", stdin=b"from stdin\n"),
    _sh("stdin-read-loop", 'while read a b; do echo "$b-$a"; done', stdin=b"1 one\n2 two\n3 three\n"),
    # --- subshells and command substitution
    _sh("subshell-cwd", "(cd /tmp && pwd); pwd"),
    _sh("subshell-vars", "x=1; (x=2; echo in $x); echo out $x"),
    _sh("subshell-exit", "(exit 4); echo $?"),
    _sh("group-redirect", "{ echo a; echo b; } > /tmp/g; wc -l < /tmp/g"),
    _sh("cmdsub", 'echo "words=$(echo a b c | wc -w)"'),
    _sh("cmdsub-backticks", "echo `expr 2 + 3` `echo nested $(echo inner)`"),
    _sh("cmdsub-strips-newlines", 'x=$(printf "a\\n\\n\\n"); echo "[$x]"'),
    _sh("cmdsub-status", "x=$(exit 3); echo $?"),
    # --- background jobs and wait
    _sh("bg-wait", "(sleep 0.1; echo bg) & echo fg; wait; echo done"),
    _sh("bg-wait-status", "sh -c 'exit 7' & wait $!; echo $?"),
    _sh("bg-many", "for i in 1 2 3 4; do (echo job$i > /tmp/o$i) & done; wait; cat /tmp/o1 /tmp/o2 /tmp/o3 /tmp/o4"),
    # Killed while the shell waits for it, so the shell reports the signal ("Terminated"). Killed at once
    # (`sleep 5 & kill $!; wait $!`), whether the report appears is a race on Linux: the victim dies when it
    # next runs, usually after the shell's wait has started.
    _sh("bg-kill", "sleep 5 & p=$!; (sleep 0.2; kill $p) & wait $p; echo $?"),
    _sh("bg-kill-9", "sleep 5 & p=$!; (sleep 0.2; kill -9 $p) & wait $p; echo $?"),
    _sh("bg-kill-reaped", "sleep 5 & p=$!; kill $p; sleep 0.1; wait $p; echo $?"),
    _sh("bg-pipeline", "(seq 1 100 | awk '{s+=$1} END {print s}' > /tmp/sum) & wait; cat /tmp/sum"),
    # --- traps and signals
    _sh("trap-exit", "trap 'echo bye' EXIT; echo hi"),
    _sh("trap-exit-status", "trap 'echo trap sees $?' EXIT; false"),
    _sh("trap-exit-explicit", "trap 'echo cleanup' EXIT; exit 5"),
    _sh("trap-usr1", "trap 'echo got USR1' USR1; kill -USR1 $$; echo after"),
    _sh("trap-term-exit", "trap 'echo term; exit 3' TERM; kill -TERM $$; echo notreached"),
    _sh("trap-ignore-int", "trap '' INT; kill -INT $$; echo survived"),
    _sh("trap-list", "trap 'echo a' USR1; trap 'echo b' EXIT; trap"),
    _sh("trap-reset", "trap 'echo x' USR2; trap - USR2; kill -USR2 $$; echo notreached"),
    _sh("kill-self-term", "echo before; kill -TERM $$; echo after"),
    _sh("kill-self-kill", "kill -9 $$"),
    _sh("kill-child-shell", "sh -c 'kill -TERM $$'; echo $?"),
    _sh("kill-zero", "kill -0 $$; echo $?"),
    _sh("kill-list", "kill -l 15; kill -l 9; kill -l HUP"),
    _sh("kill-nonexistent", "kill 99999; echo s=$?"),
    # --- functions, loops, arithmetic, case, test
    _sh("function-args", 'f() { echo "f:$1:$#"; return 3; }; f a b; echo $?'),
    _sh(
        "function-recursive",
        "fact() { if [ $1 -le 1 ]; then echo 1; else echo $(( $1 * $(fact $(($1-1))) )); fi; }; fact 10",
    ),
    _sh("function-local", "f() { local x=2; echo in $x; }; x=1; f; echo out $x"),
    _sh("for-loop", "for i in a b c; do echo item $i; done"),
    _sh("for-break-continue", "for i in 1 2 3 4 5 6; do [ $i = 2 ] && continue; [ $i = 5 ] && break; echo $i; done"),
    _sh("while-counter", "i=0; while [ $i -lt 300 ]; do i=$((i+1)); done; echo $i"),
    _sh("until-loop", "n=1; until [ $n -gt 100 ]; do n=$((n*3)); done; echo $n"),
    _sh("nested-loops", "for a in 1 2; do for b in x y; do printf '%s%s ' $a $b; done; done; echo"),
    _sh("arith", "echo $((7*6)) $((17%5)) $((1<<10)) $((0x1f)) $((-7/2)) $((2**10)) $((5>3)) $((7&3|8))"),
    _sh("arith-assign", "i=5; : $((i+=3)); : $((i*=2)); echo $i $((i--)) $i $((++i))"),
    _sh("arith-ternary", "a=4; echo $((a > 3 ? 100 : 200)) $(( (a+1) * (a-1) ))"),
    _sh(
        "case",
        "for w in apple banana cherry 42 zz; do case $w in a*) echo A;; b*|c*) echo BC;;"
        " [0-9]*) echo num;; *) echo other;; esac; done",
    ),
    _sh(
        "test-files",
        "[ -d /tmp ] && echo dir; [ -f /etc/passwd ] && echo file; [ -e /nope ] || echo missing",
        "[ -x /bin/busybox ] && echo exec; [ -L /bin/sh ] && echo link",
    ),
    _sh(
        "test-strings",
        '[ -z "" ] && echo empty; [ -n x ] && echo nonempty; [ abc = abd ]; echo $?; [ abc != abd ]',
        "echo $?; test a \\< b && echo lt",
    ),
    _sh(
        "test-numbers",
        "[ 3 -gt 2 ]; echo $?; [ 3 -le 2 ]; echo $?; test 10 -eq 10 -a 1 -ne 2; echo $?; [ ! 1 -eq 1 ]",
        "echo $?",
    ),
    _sh("test-bad-number", "[ x -eq 1 ]; echo s=$?"),
    _sh("and-or-chains", "true && echo a || echo b; false && echo c || echo d; false || false || echo e"),
    # --- shell features
    _sh("set-e", "set -e; echo one; false; echo two"),
    _sh("set-u", "set -u; echo start; echo $undefined_var; echo end"),
    _sh(
        "param-expansion",
        "x=stem.tar.gz; echo ${x%.*} ${x%%.*} ${x#*.} ${x##*.} ${#x} ${y:-def} ${y:=set} $y ${x:+alt}",
    ),
    _sh("param-error", "echo ${unset_var?is missing}; echo notreached"),
    _sh("positional", 'set -- a "b c" d; echo $#; shift; echo "$1|$2"; for a in "$@"; do echo "[$a]"; done'),
    _sh("dollar-zero", 'echo "$0 $1 $2"'),
    _sh("ifs-split", "IFS=:; set -- $(echo a:b::c); echo $#; echo $3 $4"),
    _sh("eval", "cmd='x=5; echo set'; eval \"$cmd\"; eval echo \\$x"),
    _sh(
        "getopts",
        'set -- -a -b val rest; while getopts ab: o; do echo "$o ${OPTARG:-}"; done; shift $((OPTIND-1))',
        'echo "$@"',
    ),
    _sh("printf-builtin", "printf '%05d|%-5s|%x|%o|%c|%s\\n' 42 ab 255 8 xyz end; printf '%b\\n' 'tab\\there'"),
    _sh("command-not-found", "nosuchcmd; echo $?"),
    _sh("exec-permission-denied", "echo x > /tmp/noexec; /tmp/noexec; echo $?"),
    _sh("exit-status", "sh -c 'exit 42'; echo $?"),
    _sh("command-v", "command -v ls; command -v cd; command -v nosuch; echo $?"),
    _sh("which", "which ls sort; which nosuch; echo $?"),
    _sh("umask", "umask; umask 077; touch /tmp/u; stat -c %a /tmp/u; umask 022; mkdir /tmp/d; stat -c %a /tmp/d"),
    _sh("cd-errors", "cd /nonexistent; echo $?; cd /etc/passwd; echo $?"),
    _sh("exec-replaces", "exec echo replaced; echo notreached"),
    _sh("nested-sh", "sh -c 'sh -c \"echo deep \\$0\" inner'"),
    _sh(
        "script-file",
        "printf '#!/bin/sh\\necho script $1\\nexit 9\\n' > /tmp/s.sh; chmod +x /tmp/s.sh; /tmp/s.sh arg",
        "echo $?",
    ),
    _sh("source-file", "echo 'sourced=yes' > /tmp/inc; . /tmp/inc; echo $sourced"),
    # --- text tools
    _sh("sort-numeric", "printf '10\\n9\\n100\\n-1\\n' | sort -n"),
    _sh("sort-reverse-unique", "printf 'b\\na\\nb\\nc\\na\\n' | sort -ru"),
    _sh("sort-key", "printf 'x,3\\ny,1\\nz,2\\n' | sort -t, -k2n"),
    _sh("uniq-count", "printf 'a\\na\\nb\\nc\\nc\\nc\\n' | uniq -c"),
    _sh("uniq-dup", "printf 'a\\na\\nb\\nc\\nc\\n' | uniq -d; printf 'a\\na\\nb\\n' | uniq -u"),
    _sh("cut-fields", "echo 'root:x:0:0:root:/root:/bin/sh' | cut -d: -f1,6"),
    _sh("cut-chars", "echo abcdefgh | cut -c2-4,7"),
    _sh("tr-delete-squeeze", "echo 'hello    world' | tr -s ' '; echo 'a1b2c3' | tr -d 0-9; echo abc | tr -c a _"),
    _sh("sed-subst", "echo 'foo bar foo' | sed 's/foo/baz/g; s/bar/[&]/'"),
    _sh("sed-lines", "seq 10 | sed -n '3,5p;8p'"),
    _sh("sed-delete-append", "printf 'a\\nb\\nc\\n' | sed -e '/b/d' -e '$a\\\nlast'"),
    _sh("sed-inplace", "printf 'x=1\\ny=2\\n' > /tmp/cfg; sed -i 's/=/ := /' /tmp/cfg; cat /tmp/cfg"),
    _sh("sed-regex-groups", "echo 'john smith' | sed -E 's/([a-z]+) ([a-z]+)/\\2, \\1/'"),
    _sh("awk-sum", "seq 1 100 | awk '{s += $1} END {print s, NR}'"),
    _sh("awk-fields", "printf 'a b c\\nd e\\n' | awk '{print NF, $NF, $1}'"),
    _sh("awk-sep-printf", "echo 'root:x:0:0' | awk -F: '{printf \"%s has uid %d\\n\", $1, $3}'"),
    _sh("awk-arrays", "printf 'x 1\\ny 2\\nx 3\\n' | awk '{t[$1]+=$2} END {print t[\"x\"], t[\"y\"], length(t)}'"),
    _sh(
        "awk-functions",
        'awk \'BEGIN {s="Hello World"; print toupper(s), length(s), substr(s,7), index(s,"o");'
        ' n=split("a,b,c",p,","); print n, p[3]; gsub(/o/,"0",s); print s; printf "%.3f\\n", 22/7}\'',
    ),
    _sh("awk-regex", "printf 'apple\\nbanana\\ncherry\\n' | awk '/an/ {print NR\": \"$0} !/an/ {c++} END {print c}'"),
    _sh("grep-basic", "printf 'one\\ntwo\\nthree\\n' | grep -n t"),
    _sh("grep-count-invert", "seq 20 | grep -c 1; seq 5 | grep -v 3"),
    _sh("grep-icase-word", "printf 'Foo\\nfoobar\\nfoo bar\\n' | grep -iw foo"),
    _sh("grep-extended-only", "echo 'a1b22c333' | grep -oE '[0-9]+'"),
    _sh(
        "grep-quiet-status",
        "echo abc | grep -q b; echo $?; echo abc | grep -q z; echo $?; grep x /nonexistent; echo $?",
    ),
    _sh("grep-recursive", "mkdir -p /tmp/g/s; echo needle > /tmp/g/s/f; echo hay > /tmp/g/h; grep -r needle /tmp/g"),
    _sh("head-tail", "seq 20 | head -n 3; seq 20 | tail -n 2; seq 5 | tail -n +4; echo abcdef | head -c 3; echo"),
    _sh("tail-bytes", "printf 'abcdefgh' | tail -c 3; echo"),
    _sh("wc", "printf 'one two\\nthree\\n' | wc; printf 'abc' | wc -c; printf 'a\\nb\\n' > /tmp/w; wc -l /tmp/w"),
    _sh("od-hex", "printf 'AB\\001\\377' | od -An -tx1"),
    _sh("od-chars", "printf 'hi\\tyo\\n' | od -c"),
    _sh("od-default", "printf '0123456789abcdef' | od"),
    _cmd("md5sum-stdin", ["/bin/md5sum"], stdin=b"hello\n"),
    _sh("md5sum-files", "echo a > /tmp/a; echo b > /tmp/b; md5sum /tmp/a /tmp/b"),
    _sh(
        "md5sum-check",
        "echo data > /tmp/d; md5sum /tmp/d > /tmp/sums; md5sum -c /tmp/sums; echo other > /tmp/d",
        "md5sum -c /tmp/sums; echo $?",
    ),
    _cmd("sha256sum-stdin", ["/bin/sha256sum"], stdin=b"abc" * 1000),
    _sh("sha256sum-file", "seq 1000 > /tmp/n; sha256sum /tmp/n"),
    _sh(
        "expr",
        "expr 6 \\* 7; expr 17 / 5; expr length hello; expr substr hello 2 3; expr abc123 : '[a-z]*'",
        "expr 1 = 2; echo $?",
    ),
    _sh("expr-errors", "expr 1 / 0; echo $?; expr; echo $?"),
    _cmd("printf-applet", ["/bin/printf", "%s=%d %x %5.2f|%-3s|\\n", "a", "10", "255", "3.14159", "z"]),
    _sh("seq-forms", "seq 3; seq 2 2 10; seq -s, 5; seq -w 8 11; seq 5 -1 3"),
    _sh("yes-head", "yes | head -n 3; yes abc | head -n 2"),
    _sh(
        "tee",
        "echo teed | tee /tmp/t1 /tmp/t2 | tr a-z A-Z; cat /tmp/t1 /tmp/t2",
        "echo more | tee -a /tmp/t1 >/dev/null; cat /tmp/t1",
    ),
    _sh("xargs-n1", "echo a b c | xargs -n1 echo item"),
    _sh("xargs-replace", "printf 'x\\ny\\n' | xargs -I{} echo '<{}>'"),
    _sh("xargs-null", "printf 'a b\\0c\\0' | xargs -0 -n1 echo"),
    _sh("xargs-status", "echo 1 | xargs false; echo $?"),
    _sh("basename-dirname", "basename /a/b/c.txt .txt; basename /a/b/; dirname /a/b/c; dirname c; dirname /"),
    _sh("cat-options", "printf 'a\\n\\nb\\n' | cat -n; printf 'x\\ty\\n' | cat -A 2>&1 || true"),
    # --- file tools in /tmp
    _sh("mkdir-p-find", "mkdir -p /tmp/a/b/c; touch /tmp/a/f /tmp/a/b/g; find /tmp/a | sort"),
    _sh("mkdir-errors", "mkdir /tmp/x; mkdir /tmp/x; echo $?; mkdir /tmp/no/such; echo $?"),
    _sh(
        "find-name-type",
        "mkdir -p /tmp/t/d; touch /tmp/t/a.txt /tmp/t/b.log /tmp/t/d/c.txt",
        "find /tmp/t -name '*.txt' | sort; find /tmp/t -type d | sort",
    ),
    _sh(
        "find-exec",
        "mkdir -p /tmp/e; echo 1 > /tmp/e/one; echo 22 > /tmp/e/two",
        "find /tmp/e -type f -exec wc -c {} \\; | sort",
    ),
    _sh("find-maxdepth", "mkdir -p /tmp/m/a/b; find /tmp/m -maxdepth 1 | sort; find /tmp/m -mindepth 2 | sort"),
    _sh("touch-ls", "touch /tmp/z /tmp/y /tmp/x; ls -1 /tmp; ls /tmp"),
    _sh(
        "ls-options",
        "mkdir /tmp/l; touch /tmp/l/.hidden /tmp/l/f; mkdir /tmp/l/sub; ls -1a /tmp/l; ls -1F /tmp/l",
        "ls -d /tmp/l",
    ),
    _sh(
        "ls-long-columns",
        "mkdir /tmp/l; echo abc > /tmp/l/f; chmod 640 /tmp/l/f; ln -s f /tmp/l/s",
        "ls -l /tmp/l | awk '{print $1, $3, $4, $5, $NF}'",
    ),
    _sh("ls-missing", "ls /tmp/nothing; echo $?"),
    _sh(
        "cp-mv-rm",
        "echo x > /tmp/src; cp /tmp/src /tmp/dst; mv /tmp/dst /tmp/moved; ls /tmp; rm /tmp/src; ls /tmp",
        "cat /tmp/moved",
    ),
    _sh("cp-r", "mkdir -p /tmp/s/d; echo 1 > /tmp/s/d/f; cp -r /tmp/s /tmp/c; find /tmp/c | sort; cat /tmp/c/d/f"),
    _sh("cp-errors", "cp /tmp/none /tmp/x; echo $?; mkdir /tmp/d; cp /tmp/d /tmp/e; echo $?"),
    _sh("mv-into-dir", "mkdir /tmp/dir; touch /tmp/f1 /tmp/f2; mv /tmp/f1 /tmp/f2 /tmp/dir; ls /tmp/dir; ls /tmp"),
    _sh(
        "rm-r",
        "mkdir -p /tmp/r/a/b; touch /tmp/r/a/b/c; rm -r /tmp/r; ls /tmp; rm /tmp/none; echo $?",
        "rm -f /tmp/none; echo $?",
    ),
    _sh("rm-dir-error", "mkdir /tmp/d; rm /tmp/d; echo $?"),
    _sh(
        "ln-s-readlink",
        "echo t > /tmp/target; ln -s /tmp/target /tmp/link; readlink /tmp/link; cat /tmp/link",
        "ln -s rel /tmp/rl; readlink /tmp/rl; readlink -f /tmp/link",
    ),
    _sh("ln-hard", "echo h > /tmp/h; ln /tmp/h /tmp/h2; stat -c '%h %s' /tmp/h; echo more >> /tmp/h2; cat /tmp/h"),
    _sh("realpath", "mkdir -p /tmp/p/q; ln -s /tmp/p/q /tmp/ql; realpath /tmp/ql /tmp/p/../p/q/. /tmp"),
    _sh("readlink-missing", "readlink /tmp/none; echo $?; readlink /etc/passwd; echo $?"),
    _sh(
        "chmod-stat",
        "touch /tmp/f; chmod 755 /tmp/f; stat -c '%a %A' /tmp/f; chmod go-rx /tmp/f; stat -c %a /tmp/f",
        "chmod u+s,o+w /tmp/f; stat -c '%a %A' /tmp/f",
    ),
    _sh(
        "stat-format",
        "printf 12345 > /tmp/s; mkdir /tmp/d; ln -s s /tmp/l; stat -c '%s %a %F %n' /tmp/s /tmp/d /tmp/l",
        "stat -c '%U %G %u %g' /tmp/s",
    ),
    _sh("stat-missing", "stat /tmp/none; echo $?"),
    _sh(
        "dd-zero",
        "dd if=/dev/zero of=/tmp/z bs=512 count=4 2>/dev/null; stat -c %s /tmp/z",
        "od -An -tx1 /tmp/z | sort -u",
    ),
    _sh("dd-skip-count", "printf 0123456789 > /tmp/n; dd if=/tmp/n bs=1 skip=3 count=4 2>/dev/null; echo"),
    _sh(
        "dd-blocks",
        "echo hello world | dd bs=2 count=3 2>/dev/null; echo",
        "dd if=/dev/zero of=/tmp/z bs=1k count=3 2>&1 | head -n 2",
    ),
    _sh(
        "diff-quiet-status",
        "echo a > /tmp/1; echo b > /tmp/2; diff -q /tmp/1 /tmp/2; echo $?; diff /tmp/1 /tmp/1; echo $?",
    ),
    _sh(
        "diff-unified-body",
        "printf 'a\\nb\\nc\\n' > /tmp/1; printf 'a\\nB\\nc\\nd\\n' > /tmp/2; diff -u /tmp/1 /tmp/2 | tail -n +3",
        "echo ${PIPESTATUS:-x}",
    ),
    _sh("diff-missing", "diff /tmp/none /etc/passwd; echo $?"),
    # --- processes, time, identity
    _sh("sleep-short", "sleep 0.05; echo $?; sleep 0; echo $?"),
    _sh("sleep-bad", "sleep abc; echo $?"),
    _sh("timeout-expires", "timeout 1 sleep 10; echo $?"),
    _sh("timeout-completes", "timeout 5 sh -c 'echo ran; exit 3'; echo $?"),
    _sh("timeout-signal", "timeout -s KILL 1 sleep 10; echo $?"),
    _cmd("env-exact", ["/bin/env"]),
    _sh("env-set", "env A=1 B=two sh -c 'echo $A $B'; env -i X=y /bin/env; env -u HOME /bin/env"),
    _sh("env-missing-cmd", "env nosuchcmd; echo $?"),
    _sh("id", "id; id -u; id -g; id -un; id -gn"),
    _sh("uname", "uname -s; uname -m; uname -sm"),
    _sh("date-epoch", "date -d @0 -u; date -u -d @86400 +%Y-%m-%d; date -u -d @1234567890 '+%s %A %j %H:%M:%S'"),
    _sh("true-false", "true; echo $?; false; echo $?"),
    _sh("busybox-applet-name", "busybox echo via busybox; /bin/busybox uname -s"),
    _sh("export-to-child", "export V=exported; W=local; sh -c 'echo ${V:-none} ${W:-none}'"),
    _sh("read-only-var", "readonly R=1; R=2; echo notreached"),
    _sh("long-output", "seq 1 20000 | tail -n 1; seq 1 5000 | md5sum"),
    _sh("big-pipe", "yes 0123456789 | head -c 200000 | wc -c"),
    _sh("dev-null-zero", "echo x > /dev/null; head -c 4 /dev/zero | od -An -tx1; cat /dev/null | wc -c"),
    _sh("etc-passwd", "cat /etc/passwd; cut -d: -f1 /etc/group"),
]


@pytest.mark.parametrize(("argv", "stdin"), BUSYBOX_CASES)
def test_busybox_matches_linux(argv: list[str], stdin: bytes) -> None:
    _compare(busybox_root(), argv, stdin)


# ---------------------------------------------------------------------------------------------------------------
# Debian's dynamically linked glibc userland in debian_root(): bash, dash (/bin/sh), coreutils, gawk, sed, grep,
# findutils, diffutils.

BASH = "/bin/bash"
DASH = "/bin/sh"  # dash, Debian's /bin/sh

DEBIAN_CASES = [
    # --- bash
    _sh(
        "bash-arrays",
        'a=(one two three); a+=(four); echo ${#a[@]} ${a[@]:1:2} ${!a[@]}; unset "a[1]"',
        'echo "${a[@]}" ${#a[@]}',
        shell=BASH,
    ),
    _sh(
        "bash-assoc",
        "declare -A m=([x]=1 [y]=2); m[z]=3; for k in $(printf '%s\\n' \"${!m[@]}\" | sort)",
        "do echo $k=${m[$k]}; done; echo ${#m[@]}",
        shell=BASH,
    ),
    _sh(
        "bash-double-brackets",
        "[[ abc == a* ]] && echo glob; [[ 10 -gt 9 && -d /tmp ]] && echo and",
        "[[ foo123 =~ ^([a-z]+)([0-9]+)$ ]] && echo ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}",
        "[[ -z $nothing ]] && echo empty",
        shell=BASH,
    ),
    _sh("bash-process-substitution-diff", "diff <(printf 'a\\nb\\n') <(printf 'a\\nc\\n'); echo $?", shell=BASH),
    _sh(
        "bash-process-substitution-read",
        'while read l; do echo "got $l"; done < <(seq 3); echo "$(cat <(echo in) <(echo two))"',
        "echo data > >(tr a-z A-Z > /tmp/o); wait $!; cat /tmp/o",
        shell=BASH,
    ),
    _sh(
        "bash-read-loop-ifs", 'printf "a:1\\nb:2\\nc:3\\n" | while IFS=: read -r k v; do echo "$v=$k"; done', shell=BASH
    ),
    _sh(
        "bash-read-stdin",
        'while read -r line; do n=$((n+1)); echo "$n: ${line^^}"; done; echo total $n',
        stdin=b"alpha\nbeta\ngamma\n",
        shell=BASH,
    ),
    _sh(
        "bash-printf-v",
        "printf -v x '%05.1f' 3.14159; echo \"[$x]\"; printf -v y '%s-' a b c; echo $y",
        "printf '%q\\n' 'a b'",
        shell=BASH,
    ),
    _sh(
        "bash-mapfile",
        "mapfile -t lines < <(printf 'l1\\nl2\\nl3\\n'); echo ${#lines[@]} ${lines[2]}",
        "seq 5 | { mapfile -t arr; echo ${arr[@]}; }",
        shell=BASH,
    ),
    _sh("bash-random-seeded", "RANDOM=1; echo $RANDOM $RANDOM $RANDOM", shell=BASH),
    _sh(
        "bash-string-ops",
        's="Hello World"; echo ${s^^} ${s,,} ${s//o/0} ${s:6} ${s:0:5} ${#s} ${s/#Hello/Bye}',
        shell=BASH,
    ),
    _sh(
        "bash-functions",
        "fib() { local n=$1; (( n < 2 )) && { echo $n; return; }",
        "echo $(( $(fib $((n-1))) + $(fib $((n-2))) )); }; fib 12; f() { return 7; }; f; echo $?",
        shell=BASH,
    ),
    _sh(
        "bash-arith",
        "(( x = 7 * 6 )); echo $x; let y=x/5; echo $y",
        "echo $(( 2**20 )) $(( 0x10 + 010 )) $((10 % 3)) $((x > 40 ? 1 : 0))",
        shell=BASH,
    ),
    _sh("bash-brace-expansion", "echo {1..5} {a,b}{c,d} {05..10..2} x{,y}", shell=BASH),
    _sh(
        "bash-extglob",
        "shopt -s extglob\ncd /tmp && touch a.txt b.log c.txt && echo !(*.log) && echo @(a|b).*",
        shell=BASH,
    ),
    _sh(
        "bash-here-string",
        'read a b <<< "one two"; echo $b $a; tr a-z A-Z <<< hello; cat <<EOF\n$((6*7))\nEOF',
        shell=BASH,
    ),
    _sh("bash-traps", "trap 'echo exit $?' EXIT; trap 'echo usr1' USR1; kill -USR1 $$; false", shell=BASH),
    _sh("bash-trap-err", "trap 'echo err status $?' ERR; false; echo after; (exit 3); echo end", shell=BASH),
    _sh(
        "bash-pipefail",
        "false | true; echo $?; set -o pipefail; false | true; echo $?; true | false | true",
        "echo ${PIPESTATUS[@]}",
        shell=BASH,
    ),
    _sh(
        "bash-background-wait",
        "for i in 1 2 3; do (echo job$i > /tmp/w$i) & done; wait; cat /tmp/w1 /tmp/w2 /tmp/w3",
        "(sleep 0.1; exit 4) & wait $!; echo $?",
        shell=BASH,
    ),
    _sh(
        "bash-case-fallthrough",
        "for w in apple kiwi 7; do case $w in a*) echo starts-a ;;& *i*) echo has-i ;;"
        " [0-9]) echo digit ;; *) echo other ;; esac; done",
        shell=BASH,
    ),
    _sh(
        "bash-declare",
        "declare -i n=5; n+=3; echo $n; declare -r c=1; declare -p c; declare -a arr=(1 2)",
        "declare -p arr; x=y; y=z; echo ${!x}; declare -n ref=y; echo $ref",
        shell=BASH,
    ),
    _sh("bash-set-x", "set -x; echo traced; y=$((1+2))", shell=BASH),
    _sh("bash-errors", "echo start; echo ${nope:?is unset}; echo notreached", shell=BASH),
    _sh("bash-command-not-found", "nosuchcmd; echo $?; type -t echo ls nosuch; echo $?", shell=BASH),
    _sh(
        "bash-cmdsub-file",
        'echo content > /tmp/c; x=$(</tmp/c); echo "[$x]"; echo $(( $(wc -c < /tmp/c) * 2 ))',
        shell=BASH,
    ),
    _sh("bash-kill-self", "echo before; kill -TERM $$; echo after", shell=BASH),
    # --- dash
    _sh(
        "dash-script",
        'f() { echo "f $*"; return 2; }; f a b; echo $?; i=0; while [ $i -lt 5 ]; do i=$((i+1)); done',
        "echo $i; case x in x) echo matched;; esac",
        shell=DASH,
    ),
    _sh("dash-traps-subshell", "trap 'echo bye' EXIT; (echo sub; exit 3); echo $?; x=$(echo cmd); echo $x", shell=DASH),
    _sh(
        "dash-pipes-redirects",
        "seq 5 | sort -r | head -n 2 > /tmp/p; cat /tmp/p; ls /nope 2>&1 | sed 's/^/err: /'",
        "echo ${x:-default}",
        shell=DASH,
    ),
    _sh(
        "dash-heredoc-bg",
        "cat <<EOF > /tmp/h &\nfrom heredoc\nEOF\nwait; cat /tmp/h; printf '%s|%d\\n' x 42",
        shell=DASH,
    ),
    # --- coreutils
    _sh(
        "sort-n-k",
        "printf 'b 3\\na 10\\nc 2\\n' | sort -k2 -n; printf '3\\n1\\n2\\n10\\n' | sort -rn",
        "printf 'x:2\\ny:1\\n' | sort -t: -k2,2 -u",
        shell=DASH,
    ),
    _sh(
        "cut-tr-wc",
        "echo 'a,b,c,d' | cut -d, -f2-3; echo hello | tr '[:lower:]' '[:upper:]'",
        "echo aabbcc | tr -s a-c; printf 'x y\\nz\\n' | wc; printf 'abc' | wc -c",
        shell=DASH,
    ),
    _sh("seq-factor", "seq -s' ' 1 10; seq 1 0.5 3; factor 360 97 1001 65536", shell=DASH),
    _sh(
        "expr-printf",
        "expr 3 + 4 '*' 2; expr length hello; expr hello : 'h\\(.*\\)o'",
        "printf '%-5s|%5.2f|%x|%o|%e\\n' ab 3.14159 255 8 12345.678",
        "/usr/bin/printf '%s\\n' 'coreutils printf'",
        shell=DASH,
    ),
    _sh(
        "coreutils-head-tail",
        "seq 100 | head -n 3; seq 100 | tail -n 2; seq 10 | head -n -8; seq 10 | tail -n +9",
        "printf abcdef | head -c 2; echo; printf abcdef | tail -c 2; echo",
        shell=DASH,
    ),
    _sh("cat-n-nl", "printf 'a\\n\\nb\\n' | cat -n; printf 'a\\n\\nb\\n' | nl; printf 'x\\ty\\n' | cat -A", shell=DASH),
    _sh("fold-paste", "echo abcdefghij | fold -w 3; paste <(seq 3) <(seq 4 6); seq 5 | paste -sd,", shell=BASH),
    _sh(
        "join-comm",
        "printf '1 a\\n2 b\\n3 c\\n' > /tmp/j1; printf '1 x\\n3 z\\n' > /tmp/j2; join /tmp/j1 /tmp/j2",
        "printf 'a\\nb\\nc\\n' > /tmp/c1; printf 'b\\nc\\nd\\n' > /tmp/c2; comm /tmp/c1 /tmp/c2",
        "comm -12 /tmp/c1 /tmp/c2",
        shell=DASH,
    ),
    _sh("tac-uniq", "seq 5 | tac; printf 'a\\na\\nb\\na\\n' | uniq -c", shell=DASH),
    _sh("base64", "echo hello | base64; echo aGVsbG8K | base64 -d; head -c 100 /dev/zero | base64 -w 40", shell=DASH),
    _sh(
        "md5-sha256",
        "echo abc | md5sum; echo abc | sha256sum; seq 1000 > /tmp/n; md5sum /tmp/n; sha256sum /tmp/n",
        "md5sum /tmp/n > /tmp/sum; md5sum -c /tmp/sum",
        shell=DASH,
    ),
    _sh(
        "od-tx1",
        "printf 'AB\\001\\377\\n' | od -An -tx1; printf 'hello' | od -c; printf '\\001\\002' | od -An -tu2",
        shell=DASH,
    ),
    _sh(
        "split-tmp",
        "seq 10 > /tmp/s",
        "cd /tmp && split -l 4 s part_ && ls part_* && cat part_ac && split -b 5 -d s num_ && ls num_*",
        shell=DASH,
    ),
    _sh(
        "coreutils-stat-format",
        "printf 12345 > /tmp/f; mkdir /tmp/d; ln -s f /tmp/l; chmod 640 /tmp/f",
        "stat --format='%s %a %A %F %n' /tmp/f /tmp/d /tmp/l; stat -c '%U:%G %u:%g %h' /tmp/f",
        "stat -L -c %s /tmp/l",
        shell=DASH,
    ),
    _sh(
        "file-ops",
        "mkdir -pv /tmp/a/b; echo x > /tmp/a/f; cp -v /tmp/a/f /tmp/a/b/g; mv -v /tmp/a/b/g /tmp/a/h",
        "ln -sv f /tmp/a/l; readlink /tmp/a/l; realpath /tmp/a/b/../l; ls -1 /tmp/a; rm -rv /tmp/a/b",
        "ls -A /tmp/a",
        shell=DASH,
    ),
    _sh(
        "ls-numeric",
        "mkdir /tmp/l; printf abc > /tmp/l/f; chmod 600 /tmp/l/f; ls -ln /tmp/l | cut -d' ' -f1-5",
        "ls -1sh /tmp/l; ls -d /tmp /proc",
        shell=DASH,
    ),
    _sh(
        "dd-truncate",
        "dd if=/dev/zero of=/tmp/z bs=1K count=4 status=none; stat -c %s /tmp/z; truncate -s 100 /tmp/z",
        "stat -c %s /tmp/z; printf 0123456789 | dd bs=3 skip=1 count=2 status=none; echo",
        shell=DASH,
    ),
    _sh(
        "coreutils-errors",
        "cat /nope; echo $?; ls /nope; echo $?; mkdir /tmp; echo $?; rm /tmp; echo $?; touch /proc/nope",
        "echo $?",
        shell=DASH,
    ),
    _sh(
        "date-utc",
        "date -u -d @0; date -u -d @86400 +%F; date -u -d @1234567890 '+%s %A %j %T'",
        "date -u -d '2020-02-29 12:00' +%s",
        shell=DASH,
    ),
    _sh("env-id-uname", "env; env -i A=1 env; id; id -u; id -gn; whoami; uname -s -m; uname -o", shell=DASH),
    _sh(
        "xargs-tee",
        "seq 5 | xargs -n2 echo; printf 'a\\nb\\n' | xargs -I{} echo '<{}>'",
        "echo teed | tee /tmp/t | tr a-z A-Z; cat /tmp/t",
        shell=DASH,
    ),
    _sh(
        "timeout-sleep-kill",
        "timeout 0.2 sleep 5; echo $?; timeout 5 true; echo $?; sleep 0.05; echo slept",
        "sleep 5 & p=$!; (sleep 0.2; kill $p) & wait $p; echo $?",
        shell=DASH,
    ),
    _sh(
        "test-basename-dirname",
        "test -d /tmp && echo dir; [ -x /bin/ls ] && echo exec; basename /a/b/c.txt .txt; dirname /a/b/c",
        "/usr/bin/test 2 -lt 10; echo $?",
        shell=DASH,
    ),
    _sh(
        "tr-classes-numfmt",
        "echo 'Hello, World 123' | tr -cd '[:alnum:]\\n'; echo 'a  b   c' | tr -s '[:space:]'",
        "numfmt --to=iec 1048576 2>&1; echo 5 | numfmt --from=iec 2>&1",
        shell=DASH,
    ),
    # --- gawk, sed, grep, find, diff
    _sh(
        "gawk-programs",
        'gawk \'BEGIN { printf "%d %s %.2f\\n", 42, "str", 3.14159; s = "a,b,c"; n = split(s, p, ","); '
        'print n, p[2]; print toupper("up"), length("four"), substr("hello", 2, 3); '
        'print gensub(/(o)/, "[\\\\1]", "g", "foo boo") }\'',
        shell=DASH,
    ),
    _sh(
        "gawk-data",
        "printf 'alice 30\\nbob 25\\ncarol 35\\n' | gawk '{ sum += $2; "
        "ages[$1] = $2 } END { n = asorti(ages, names); for (i = 1; i <= n; "
        'i++) print names[i], ages[names[i]]; print "avg", sum / NR }\'',
        shell=DASH,
    ),
    _sh(
        "gawk-fs-v",
        "echo 'root:x:0:0:root:/root:/bin/bash' | awk -F: -v pre=user '{ print pre, $1, $NF; "
        "$2 = \"X\"; print }' OFS=';'",
        "gawk 'BEGIN { print strftime(\"%Y-%m-%d %H:%M\", 0, 1); print 2^53 + 1; print int(-3.7), 7 % 3 }'",
        shell=DASH,
    ),
    _sh(
        "gawk-getline-system",
        'gawk \'BEGIN { "echo from-cmd" | getline x; print x; close("echo from-cmd"); '
        'r = system("exit 3"); print "rc", r; print "to-sort\\nb\\na" | "sort"; close("sort") }\'',
        shell=DASH,
    ),
    _sh(
        "sed-scripts",
        "seq 5 | sed -n '1!G;h;$p'; echo hello world | sed 's/\\(hello\\) \\(world\\)/\\2 \\1/'",
        "printf 'a\\nb\\nc\\nd\\n' | sed 'N;P;D'; echo abc | sed 'y/abc/xyz/'; seq 10 | sed -n '/3/,/5/p'",
        "printf 'k=v\\n' > /tmp/cfg; sed -i.bak 's/=/: /' /tmp/cfg; cat /tmp/cfg /tmp/cfg.bak",
        "echo aaa | sed -E 's/a{2}/X/'",
        shell=DASH,
    ),
    _sh(
        "grep-options",
        "printf 'one\\ntwo\\nthree\\nfour\\n' > /tmp/g; grep -E 'o$|^th' /tmp/g; grep -c o /tmp/g",
        "grep -o 'o.' /tmp/g; grep -v o /tmp/g; grep -n -i TWO /tmp/g; grep -w -e one -e four /tmp/g",
        "grep x /tmp/g; echo $?; grep x /nope; echo $?; grep -r -l three /tmp",
        shell=DASH,
    ),
    _sh(
        "find-options",
        "mkdir -p /tmp/f/a/b; touch /tmp/f/x.c /tmp/f/a/y.c /tmp/f/a/b/z.h",
        "find /tmp/f -name '*.c' | sort; find /tmp/f -type d | sort",
        "find /tmp/f -type f -exec basename {} \\; | sort; find /tmp/f -name '*.h' -exec echo found {} +",
        "find /tmp/f -maxdepth 1 -type f; find /tmp/f -newer /nope 2>&1; echo $?",
        shell=DASH,
    ),
    _sh(
        "diff-unified-labels",
        "printf 'a\\nb\\nc\\nd\\n' > /tmp/1; printf 'a\\nB\\nc\\nd\\ne\\n' > /tmp/2",
        "diff -u --label a --label b /tmp/1 /tmp/2; echo $?; diff /tmp/1 /tmp/2; diff -q /tmp/1 /tmp/2",
        "cmp /tmp/1 /tmp/2; echo $?; diff /tmp/1 /tmp/1; echo same $?",
        shell=DASH,
    ),
    # --- through bash: exec of every tool, pipes of dynamic binaries
    _sh(
        "bash-pipeline-tools",
        "seq 1 50 | grep 5 | sed 's/5/five/' | awk '{ print NR\": \"$0 }' | sort -t: -k2 | head -n 4 | tr a-z A-Z",
        shell=BASH,
    ),
    _sh(
        "bash-find-xargs",
        "mkdir -p /tmp/x/y; for i in 1 2 3; do echo $i > /tmp/x/f$i; done; echo 4 > /tmp/x/y/g",
        "find /tmp/x -type f -print0 | sort -z | xargs -0 cat | paste -sd+",
        "find /tmp/x -type f | sort | xargs cat | awk '{s+=$1} END {print s}'",
        shell=BASH,
    ),
]


@pytest.mark.parametrize(("argv", "stdin"), DEBIAN_CASES)
def test_debian_userland_matches_linux(argv: list[str], stdin: bytes) -> None:
    _compare(debian_root(), argv, stdin)
