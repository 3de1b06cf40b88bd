"""The text forms the Docker provider stores values in, so the program can send exactly those.

The provider (kreuzwerker/terraform-provider-docker v4.5.0, bundled by pulumi-docker 5.2.0) is Go: a duration it
reads back is `time.Duration.String()`, a CPU count goes through docker/cli's `opts.ParseCPUs` and comes back
through its own `nanoInt64ToDecimalString`, which prints with `math/big.Rat.FloatString`. These are those
functions, exactly. The program sends these forms (a second `up` then changes nothing) and the offline read-back
model (offline/readback/docker.py) stores them; tests pin each to cases from the Go and provider test suites.
"""

from __future__ import annotations

import re
from fractions import Fraction

NANOSECOND = 1
MICROSECOND = 1000 * NANOSECOND
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

# go/src/time/format.go, unitMap (ParseDuration's units).
_UNITS = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "\u00b5s": MICROSECOND,  # U+00B5 micro sign
    "\u03bcs": MICROSECOND,  # U+03BC Greek mu
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}
_TERM = re.compile(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]+)")
_TERMS = re.compile(r"(?:[0-9]*(?:\.[0-9]*)?[^0-9.]+)+")


def parse_duration(text: str) -> int:
    """time.ParseDuration (go/src/time/format.go): "[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+", in nanoseconds."""
    s = text
    sign = 1
    if s[:1] in "+-" and s:
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"time: invalid duration {text!r}")
    if not _TERMS.fullmatch(s):
        raise ValueError(f"time: invalid duration {text!r}")
    total = Fraction(0)
    for m in _TERM.finditer(s):  # the whole text is terms (fullmatch above), so these are consecutive
        if m.group(1) in ("", ".") or m.group(2) not in _UNITS:
            raise ValueError(f"time: invalid duration {text!r}")
        total += Fraction(m.group(1)) * _UNITS[m.group(2)]
    # Go truncates a fraction of a nanosecond.
    return sign * int(total)


def _fmt_frac(value: int, prec: int) -> tuple[str, int]:
    """time.fmtFrac: the fraction of value/10**prec, without trailing zeros, and the integer part."""
    digits = ""
    printed = False
    for _ in range(prec):
        digit = value % 10
        printed = printed or digit != 0
        if printed:
            digits = str(digit) + digits
        value //= 10
    return ("." + digits if printed else ""), value


def duration_string(ns: int) -> str:
    """time.Duration.String (go/src/time/time.go): "1m0s", "1h0m0s", "1.5s", "2.2ms", "0s"."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < SECOND:
        if u < MICROSECOND:
            return f"{sign}{u}ns"
        prec, unit = (3, "\u00b5s") if u < MILLISECOND else (6, "ms")
        frac, whole = _fmt_frac(u, prec)
        return f"{sign}{whole}{frac}{unit}"
    frac, secs = _fmt_frac(u, 9)
    out = f"{secs % 60}{frac}s"
    mins = secs // 60
    if mins > 0:
        out = f"{mins % 60}m{out}"
        hours = mins // 60
        if hours > 0:
            out = f"{hours}h{out}"
    return sign + out


def rat_float_string(x: Fraction, prec: int) -> str:
    """math/big.Rat.FloatString (go/src/math/big/ratconv.go): prec digits after the point, the last one
    rounded half away from zero."""
    negative = x < 0
    q, r = divmod(abs(x.numerator) * 10**prec, x.denominator)
    if 2 * r >= x.denominator:
        q += 1
    whole, frac = divmod(q, 10**prec)
    text = str(whole) + (f".{frac:0{prec}d}" if prec > 0 else "")
    return ("-" if negative else "") + text


def parse_cpus(value: str) -> int:
    """docker/cli v28.5.2 opts.ParseCPUs (opts/opts.go): a rational number of CPUs -> NanoCPUs, refused unless
    a whole number of nano-CPUs. The provider sends `cpus` through it (resource_docker_container_funcs.go:354-360)."""
    try:
        cpu = Fraction(value)
    except (ValueError, ZeroDivisionError) as exc:
        raise ValueError(f"failed to parse {value!r} as a rational number") from exc
    nano = cpu * 1_000_000_000
    if nano.denominator != 1:
        raise ValueError("value is too precise")
    return int(nano)


def nano_int64_to_decimal_string(nano: int) -> str:
    """internal/provider/helpers.go:131-149 nanoInt64ToDecimalString, what Read stores as `cpus`
    (resource_docker_container_funcs.go:946-948).

    FloatString(9); when that text holds exactly nine "0" characters, FloatString(1) instead; else trailing
    zeros trimmed. So 1e9 -> "1.0", 1.5e9 -> "1.5", 2.25e9 -> "2.25" and (faithfully) 10e9 -> "10." (ten zeros)."""
    if nano == 0:
        return "0"
    rat = Fraction(nano, 1_000_000_000)
    text = rat_float_string(rat, 9)
    if text.count("0") == 9:
        return rat_float_string(rat, 1)
    return text.rstrip("0")


def docker_cpus(value: str) -> str:
    """The `cpus` text the provider reads back for a configured value ("1" -> "1.0", "0.5" -> "0.5")."""
    nano = parse_cpus(value)
    return nano_int64_to_decimal_string(nano) if nano > 0 else value


def go_duration(value: str) -> str:
    """A duration as the provider reads it back: Go's ParseDuration then Duration.String ("60s" -> "1m0s")."""
    return duration_string(parse_duration(value))
