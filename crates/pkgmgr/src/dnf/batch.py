# patchctl's dnf batch: several dnf commands run from one Python process, so that the host pays
# for starting Python and importing dnf once instead of once per command (pkgmgr/src/dnf/batch.rs
# builds the argv and reads the output; this program is passed with -c, never stored on the host).
#
# argv: DNF_PATH ARGS... [';' ARGS...]...: each ARGS is the argument list of one dnf command line.
# Each command runs in a child forked after `import dnf`, with its own standard output and error,
# through dnf's own entry point (what /usr/bin/dnf runs), so it behaves and prints as `dnf ARGS`
# would, exit code included (but for the first frame of a traceback, see run_child). The
# children run at the same time, as separate dnf processes would (but see LockWait).
#
# Output, lengths in bytes of the UTF-8 text that follows (invalid bytes become U+FFFD):
#   patchctl-dnf-batch 1
#   plugins FILE...                       the *.py files in dnf's default plugin directory
#   command I exit CODE stdout N stderr M  then the N + M bytes, for I = 1, 2, ... in argv order
#   end COUNT
# Written for Python 3.6 (RHEL 8's platform-python) and later.
import sys

# `python -c` puts the working directory first on the module path; dnf's own script never
# imports from there.
if sys.path and sys.path[0] in ("", "."):
    del sys.path[0]

import atexit
import gc
import os
import re
import selectors
import time
import traceback

import dnf.const
import dnf.lock
from dnf.cli import main as dnf_main


class LockWait(object):
    """`time` for dnf's lock module, whose only use of it is a second's sleep between two tries
    of a lock another process holds. The batch's children take the same locks (repository
    metadata, the rpm database) for a fraction of that, one after the other, and a second's
    sleep for each turn made a batch take 0.5, 1.5 or 2.5 s by chance. They try every 20 ms."""

    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def sleep(seconds):
        time.sleep(min(seconds, 0.02))


if getattr(dnf.lock, "time", None) is time:
    dnf.lock.time = LockWait()


def commands(words):
    current = []
    for word in words:
        if word == ";":
            yield current
            current = []
        else:
            current.append(word)
    yield current


def plugin_files():
    try:
        names = os.listdir(dnf.const.PLUGINPATH)
    except OSError:
        return []
    # Only names that need no quoting; dnf loads every *.py file there.
    return sorted(n for n in names if re.fullmatch(r"[A-Za-z0-9_-]+\.py", n))


def run_child(dnf_path, args, out_fd, err_fd):
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    os.close(out_fd)
    os.close(err_fd)
    sys.argv = [dnf_path] + args
    code = 1
    try:
        dnf_main.user_main(args, exit_code=True)
        code = 0
    except SystemExit as e:
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code
        else:
            sys.stderr.write("%s\n" % (e.code,))
    except BaseException:
        # As Python prints an uncaught exception, from dnf's entry point on. The only difference
        # from `dnf ARGS` is the script's own frame (`File "/usr/bin/dnf", line 62` and its
        # source line), which comes first there and is missing here.
        kind, value, trace = sys.exc_info()
        traceback.print_exception(kind, value, trace.tb_next)
    try:
        # What the interpreter does on exit: dnf's and logging's exit hooks, then the flush.
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code & 0xFF)


def main():
    dnf_path = sys.argv[1]
    batch = list(commands(sys.argv[2:]))
    # Objects that exist now are never collected in the children: without this, each child's
    # collections would walk (and so copy) every page of dnf's modules.
    if hasattr(gc, "freeze"):
        gc.freeze()
    sys.stdout.flush()
    sys.stderr.flush()
    children = []
    selector = selectors.DefaultSelector()
    for args in batch:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            selector.close()
            for child in children:
                for fd in child["open"]:
                    os.close(fd)
            os.close(out_r)
            os.close(err_r)
            run_child(dnf_path, args, out_w, err_w)
        os.close(out_w)
        os.close(err_w)
        child = {"pid": pid, "out": [], "err": [], "open": {out_r, err_r}}
        children.append(child)
        selector.register(out_r, selectors.EVENT_READ, (child, "out"))
        selector.register(err_r, selectors.EVENT_READ, (child, "err"))
    while selector.get_map():
        for key, _ in selector.select():
            child, stream = key.data
            data = os.read(key.fd, 65536)
            if data:
                child[stream].append(data)
            else:
                selector.unregister(key.fd)
                os.close(key.fd)
                child["open"].discard(key.fd)
    write = sys.stdout.buffer.write
    write(b"patchctl-dnf-batch 1\n")
    write(" ".join(["plugins"] + plugin_files()).encode() + b"\n")
    for index, child in enumerate(children):
        _, status = os.waitpid(child["pid"], 0)
        if os.WIFSIGNALED(status):
            code = 128 + os.WTERMSIG(status)
        else:
            code = os.WEXITSTATUS(status)
        out = b"".join(child["out"]).decode("utf-8", "replace").encode("utf-8")
        err = b"".join(child["err"]).decode("utf-8", "replace").encode("utf-8")
        write(b"command %d exit %d stdout %d stderr %d\n" % (index + 1, code, len(out), len(err)))
        write(out)
        write(err)
    write(b"end %d\n" % len(children))
    sys.stdout.flush()


main()
