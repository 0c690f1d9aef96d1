"""Ctrl-C while the `tinygrad-nn` command starts (importing NumPy takes a moment) ends it
with one line and status 130, not a traceback. The package's `__init__` imports this
first; it changes nothing when the package is imported as a library."""

from __future__ import annotations

import os
import signal
import sys
import threading


def _is_the_command() -> bool:
    """True when this process is `tinygrad-nn ...` or `python -m tinygrad_nn ...`."""
    argv = list(getattr(sys, "orig_argv", None) or [])
    if "-m" in argv[:-1]:
        return argv[argv.index("-m") + 1] in ("tinygrad_nn", "tinygrad_nn.cli")
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return name in ("tinygrad-nn", "tinygrad-nn.exe", "tinygrad-nn-script.py")


def _interrupted_at_start(signum: int, frame: object) -> None:
    what = "interrupted" if signum == signal.SIGINT else (
        f"terminated by {signal.Signals(signum).name}")
    try:
        sys.stderr.write(f"tinygrad-nn: {what}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    raise SystemExit(128 + signum)


at_start = _interrupted_at_start  # the handler, for the command to recognise and replace


def restore_sigint() -> None:
    """Called when the command's own error handling is in place: Ctrl-C raises
    KeyboardInterrupt again (training stops cleanly and saves what it has)."""
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is _interrupted_at_start):
        signal.signal(signal.SIGINT, signal.default_int_handler)


if _is_the_command() and threading.current_thread() is threading.main_thread():
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupted_at_start)
    for _name in ("SIGTERM", "SIGHUP"):  # the command's `run` installs its own handlers
        if getattr(signal, _name, None) is not None and (
                signal.getsignal(getattr(signal, _name)) is signal.SIG_DFL):
            signal.signal(getattr(signal, _name), _interrupted_at_start)
