"""The pattern of the decimal texts between two bounds.

A decimal travels as JSON text, and JSON Schema compares only numbers with
`minimum` and `maximum`: for a schema to show a decimal's bounds, and for tools that
generate requests from it to send values inside them, its pattern has to hold them.
`range_pattern` writes that pattern for the texts `DecimalText` reads: an optional
minus, at most `digits` digits before the point (leading zeros allowed), and at most
`places` after it, the point left out when none follow.
"""

from __future__ import annotations

from decimal import Decimal

# A digit class as its least and greatest digit: (0, 9) is any digit.
_Class = tuple[int, int]
_ANY: _Class = (0, 9)


def range_pattern(low: Decimal, high: Decimal, digits: int, places: int) -> str:
    """The texts whose value is from `low` to `high`, both exact at `places`."""
    step = Decimal(1).scaleb(-places)
    low, high = low.quantize(step), high.quantize(step)
    parts = []
    if low < 0:
        # "-0" is zero: the negative texts include it when zero is in the range.
        parts += [
            "-" + part
            for part in _unsigned(max(-high, Decimal(0)), -low, digits, places)
        ]
    if high >= 0:
        parts += _unsigned(max(low, Decimal(0)), high, digits, places)
    return "^(?:" + "|".join(parts) + ")$"


def _unsigned(low: Decimal, high: Decimal, digits: int, places: int) -> list[str]:
    """The unsigned texts from `low` to `high` (0 <= low <= high)."""
    top = 10**places - 1
    first, fraction_low = _split(low, places)
    last, fraction_high = _split(high, places)
    if first == last:
        return [_whole(first, digits) + _fraction(fraction_low, fraction_high, places)]
    # The first and the last whole number keep their own limit on the fraction,
    # unless it is no limit; the whole numbers between take any fraction.
    head = tail = ""
    if fraction_low > 0:
        head = _whole(first, digits) + _fraction(fraction_low, top, places)
        first += 1
    if fraction_high < top:
        tail = _whole(last, digits) + _fraction(0, fraction_high, places)
        last -= 1
    middle = ""
    if first <= last:
        wholes = _wholes(first, last, digits)
        joined = wholes[0] if len(wholes) == 1 else "(?:" + "|".join(wholes) + ")"
        middle = joined + _fraction(0, top, places)
    return [part for part in (head, middle, tail) if part]


def _split(value: Decimal, places: int) -> tuple[int, int]:
    """The whole number of `value` and its fraction, counted in units of `places`."""
    whole = int(value)
    return whole, int((value - whole).scaleb(places))


def _whole(number: int, digits: int) -> str:
    """The text of the whole number `number`, with the leading zeros it may have."""
    if number == 0:
        return "0" + _times(1, max(digits, 1))
    return _zeros(digits - len(str(number))) + str(number)


def _zeros(most: int) -> str:
    return "0" + _times(0, most) if most > 0 else ""


def _wholes(first: int, last: int, digits: int) -> list[str]:
    """The whole numbers from `first` to `last`, one pattern per count of digits."""
    patterns = []
    if first == 0:
        patterns.append(_whole(0, digits))
        first = 1
    for length in range(len(str(first)), len(str(last)) + 1):
        low = max(first, 10 ** (length - 1))
        high = min(last, 10**length - 1)
        zeros = _zeros(digits - length)
        patterns += [zeros + _render(span) for span in _spans(str(low), str(high))]
    return patterns


def _fraction(low: int, high: int, places: int) -> str:
    """The point and the digits after it, for the fractions from `low` to `high`
    counted in units of `places`."""
    if places == 0:
        return ""
    spans = _spans(str(low).zfill(places), str(high).zfill(places))
    texts = [_fraction_text(span) for span in spans]
    return texts[0] if len(texts) == 1 else "(?:" + "|".join(texts) + ")"


def _fraction_text(span: list[_Class]) -> str:
    # Trailing zeros may be left out: the digits after the last one that cannot be
    # zero are optional, from the right, and so is the point when every digit can
    # be zero.
    needed = max((i + 1 for i, (least, _) in enumerate(span) if least > 0), default=0)
    if needed:
        return r"\." + _render(span[:needed]) + _optional(span[needed:])
    if all(digit_class == _ANY for digit_class in span):
        return r"(?:\.\d" + _times(1, len(span)) + ")?"
    return r"(?:\." + _render(span[:1]) + _optional(span[1:]) + ")?"


def _optional(span: list[_Class]) -> str:
    """Any leading part of `span`, none of it included."""
    if all(digit_class == _ANY for digit_class in span):
        return r"\d" + _times(0, len(span)) if span else ""
    text = ""
    for digit_class in reversed(span):
        atom = _render([digit_class])
        text = f"(?:{atom}{text})?" if text else atom + "?"
    return text


def _spans(low: str, high: str) -> list[list[_Class]]:
    """The digit strings from `low` to `high` (of one length) as few runs of digit
    classes: 120 to 135 is 12[0-9] and 13[0-5]."""
    if not low:
        return [[]]
    head_low, head_high = int(low[0]), int(high[0])
    if head_low == head_high:
        return [[(head_low, head_low), *rest] for rest in _spans(low[1:], high[1:])]
    width = len(low) - 1
    spans: list[list[_Class]] = []
    if low[1:] != "0" * width:
        spans += [[(head_low, head_low), *r] for r in _spans(low[1:], "9" * width)]
        head_low += 1
    tail: list[list[_Class]] = []
    if high[1:] != "9" * width:
        tail = [[(head_high, head_high), *r] for r in _spans("0" * width, high[1:])]
        head_high -= 1
    if head_low <= head_high:
        spans.append([(head_low, head_high)] + [_ANY] * width)
    return spans + tail


def _render(span: list[_Class]) -> str:
    text = ""
    run = 0  # digit classes of any digit not written yet
    for digit_class in [*span, None]:
        if digit_class == _ANY:
            run += 1
            continue
        if run:
            text += r"\d" + _times(run, run)
            run = 0
        if digit_class is None:
            break
        least, most = digit_class
        if least == most:
            text += str(least)
        elif most == least + 1:
            text += f"[{least}{most}]"
        else:
            text += f"[{least}-{most}]"
    return text


def _times(least: int, most: int) -> str:
    """A repetition: `{least,most}`, `?` for {0,1} and nothing for once."""
    if (least, most) == (0, 1):
        return "?"
    if least == most:
        return "" if least == 1 else "{" + str(least) + "}"
    return "{" + f"{least},{most}" + "}"
