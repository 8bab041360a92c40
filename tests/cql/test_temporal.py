"""Tests for the CQL Date/DateTime/Time run-time values.

Expected values come from the CQL 1.5 specification (Reference "Date and Time Operators",
Author's/Language-semantics chapters, Appendix H) and from the HL7 conformance suite
(/work/shared/cql-tests, test names quoted in the ids).  Where the suite contradicts itself or
the spec the test says which reading is implemented.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pedqm.cql.errors import CqlRuntimeError
from pedqm.cql.runtime import temporal
from pedqm.cql.runtime.temporal import (
    Date,
    DateTime,
    Precision,
    Time,
    Uncertainty,
    now_from,
    to_python,
)


def lit(text: str) -> Date | DateTime | Time:
    """A value from a CQL literal such as ``@2012-01-01T10`` / ``@T10:00`` / ``@2012``."""
    body = text.lstrip("@")
    if body.startswith("T"):
        return Time.parse(body[1:])
    if "T" in body:
        return DateTime.parse(body)
    return Date.parse(body)


# -- Precision -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("year", Precision.YEAR),
        ("years", Precision.YEAR),
        ("Year", Precision.YEAR),
        ("MONTHS", Precision.MONTH),
        ("week", Precision.WEEK),
        ("weeks", Precision.WEEK),
        ("day", Precision.DAY),
        ("days", Precision.DAY),
        ("hour", Precision.HOUR),
        ("minutes", Precision.MINUTE),
        ("second", Precision.SECOND),
        ("millisecond", Precision.MILLISECOND),
        ("milliseconds", Precision.MILLISECOND),
        ("ms", Precision.MILLISECOND),
        ("d", Precision.DAY),
        ("wk", Precision.WEEK),
        (Precision.HOUR, Precision.HOUR),
    ],
)
def test_precision_parse(name: str | Precision, expected: Precision) -> None:
    assert Precision.parse(name) is expected


def test_precision_parse_rejects_unknown() -> None:
    with pytest.raises(CqlRuntimeError):
        Precision.parse("fortnight")


def test_precision_components_are_contiguous_and_week_is_not_one() -> None:
    assert [p.value for p in Precision][:7] == list(range(7))
    assert Precision.DAY == 2 and Precision.MILLISECOND == 6
    assert Precision.WEEK.keyword == "week"


# -- construction ------------------------------------------------------------------------------


def test_constructors_and_precision() -> None:
    assert DateTime(2003).precision is Precision.YEAR
    assert DateTime(2003, 10, 29, 20, 50, 33, 955).precision is Precision.MILLISECOND
    assert Date(2012, 3).precision is Precision.MONTH
    assert Time(12, 30).precision is Precision.MINUTE
    # DateTimeEqTrue: trailing nulls are simply unspecified components.
    assert DateTime(2001, 1, 1, None) == DateTime(2001, 1, 1, None, None)


@pytest.mark.parametrize(
    "build",
    [
        lambda: DateTime(10000, 12, 31, 23, 59, 59, 999),  # DateTimeUpperBoundExcept
        lambda: DateTime(0, 1, 1, 0, 0, 0, 0),  # DateTimeLowerBoundExcept
        lambda: Date(2012, None, 1),  # spec DateInvalid
        lambda: DateTime(2012, 1, 1, 12, None, 0, 0, -7),  # spec DateInvalid
        lambda: Time(12, None, 0, 0),  # spec TimeInvalid
        lambda: Date(2013, 2, 29),
        lambda: Date(2012, 13),
        lambda: Date(2012, 4, 31),
        lambda: Time(24),  # TimeUpperBoundHours
        lambda: Time(23, 60),  # TimeUpperBoundMinutes
        lambda: Time(23, 59, 60),  # TimeUpperBoundSeconds
        lambda: Time(23, 59, 59, 1000),
        lambda: DateTime(2012, 1, 1, 0, 0, 0, 0, Decimal(15)),
        lambda: DateTime(None),  # type: ignore[arg-type]
        lambda: Date(2012.5),  # type: ignore[arg-type]
        lambda: Time(True),
    ],
)
def test_invalid_construction_is_a_runtime_error(build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CqlRuntimeError):
        build()


def test_leap_day_is_valid() -> None:
    assert Date(2012, 2, 29).day == 29
    assert Date(2000, 2, 29).day == 29


def test_values_are_immutable_and_hashable() -> None:
    a = DateTime(2012, 1, 1, 10, tz_offset=Decimal("-5"))
    b = DateTime(2012, 1, 1, 10, tz_offset=Decimal("-5.0"))
    assert a == b and hash(a) == hash(b)
    assert len({a, b, DateTime(2012, 1, 1, 10)}) == 2
    assert {Date(2012): 1}[Date(2012)] == 1
    assert Date(2012) != DateTime(2012)
    with pytest.raises(AttributeError):
        a.year = 2013  # type: ignore[misc]


# -- literals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@2012", "@2012"),
        ("@2012-03", "@2012-03"),
        ("@2012-03-04", "@2012-03-04"),
        ("@2012T", "@2012T"),
        ("@2012-03T", "@2012-03T"),
        ("@2012-03-04T10", "@2012-03-04T10"),
        ("@2012-03-04T10:20", "@2012-03-04T10:20"),
        ("@2012-03-10T10:20:00", "@2012-03-10T10:20:00"),
        ("@2012-03-04T10:20:30.123Z", "@2012-03-04T10:20:30.123+00:00"),
        ("@2017-03-12T01:00:00-07:00", "@2017-03-12T01:00:00-07:00"),
        ("@2014-01-25T14:30:14.559+01:00", "@2014-01-25T14:30:14.559+01:00"),
        ("@2014-01-01T12:05:05.955+01:30", "@2014-01-01T12:05:05.955+01:30"),
        ("@2014-01-01TZ", "@2014-01-01T+00:00"),
        ("@2014T-05:00", "@2014T-05:00"),
        ("@2017-12-21T02:00:00.0", "@2017-12-21T02:00:00.000"),
        ("@T10", "@T10"),
        ("@T10:20", "@T10:20"),
        ("@T10:20:30", "@T10:20:30"),
        ("@T10:20:30.5", "@T10:20:30.500"),
        ("@T23:59:59.10000", "@T23:59:59.100"),  # TimeMillisParsing
        ("@T09:00:00.000", "@T09:00:00.000"),
    ],
)
def test_literal_round_trip(text: str, expected: str) -> None:
    assert lit(text).to_cql() == expected


def test_parse_components() -> None:
    v = DateTime.parse("2012-03-04T10:20:30.5-05:30")
    assert (v.year, v.month, v.day, v.hour, v.minute, v.second, v.millisecond) == (
        2012,
        3,
        4,
        10,
        20,
        30,
        500,
    )
    assert v.tz_offset == Decimal("-5.5")
    assert DateTime.parse("2012-03-04T10:20:30.123Z").tz_offset == 0


@pytest.mark.parametrize(
    ("cls", "text"),
    [
        (Date, "2012-1-01"),
        (Date, "2012-02-30"),
        (DateTime, "2012-03-04"),  # a DateTime literal needs the T
        (DateTime, "2012T10"),  # hour without month/day
        (DateTime, "2012-03-04T10:20:30+5"),
        (Time, "24:59:59.999"),
        (Time, "23:60:59.999"),
        (Time, "10:2"),
    ],
)
def test_invalid_literals(cls: type, text: str) -> None:
    with pytest.raises(CqlRuntimeError):
        cls.parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2014-01-01", "@2014-01-01T"),  # ToDateTime1 / StringToDateTime
        ("2014-01-01T12:05", "@2014-01-01T12:05"),  # ToDateTime2
        ("2014-01-01T12:05:05.955", "@2014-01-01T12:05:05.955"),  # ToDateTime3
        ("2014-01-01T12:05:05.955+01:30", "@2014-01-01T12:05:05.955+01:30"),  # ToDateTime4
        ("2014-01-01T12:05:05.955-01:15", "@2014-01-01T12:05:05.955-01:15"),  # ToDateTime5
        ("2014-01-01T12:05:05.955Z", "@2014-01-01T12:05:05.955+00:00"),  # ToDateTime6
        ("2014", "@2014T"),
        ("2014-01-01T14:30:00.0-07:00", "@2014-01-01T14:30:00.000-07:00"),
        ("2015-02-04T14:34:28.123456+0100", "@2015-02-04T14:34:28.123+01:00"),
    ],
)
def test_datetime_parse_iso(text: str, expected: str) -> None:
    parsed = DateTime.parse_iso(text)
    assert parsed is not None and parsed.to_cql() == expected


@pytest.mark.parametrize(
    "text",
    ["2014/01/01T12:05:05.955Z", "2014/01/01", "2014-13-01", "2014-02-30", "", "20140101", "x"],
)
def test_datetime_parse_iso_malformed_is_none(text: str) -> None:
    assert DateTime.parse_iso(text) is None  # ToDateTimeMalformed, StringToDateTimeMalformed


def test_date_parse_iso() -> None:
    assert Date.parse_iso("2014-01") == Date(2014, 1)
    assert Date.parse_iso("2014-01-01") == Date(2014, 1, 1)
    # Spec ToDate: a time portion is accepted and ignored.
    assert Date.parse_iso("2014-01-01T12:30:00") == Date(2014, 1, 1)
    assert Date.parse_iso("2014-01-01T25:00") is None
    assert Date.parse_iso("2014-02-30") is None
    assert Date.parse_iso("01/01/2014") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("T14:30:00.0", "@T14:30:00.000"),  # ToTime1 / StringToTime
        ("T14:30:00.0+05:30", "@T14:30:00.000"),  # ToTime2: offset ignored
        ("T14:30:00.0-05:45", "@T14:30:00.000"),  # ToTime3
        ("T14:30:00.0Z", "@T14:30:00.000"),  # ToTime4
        ("14:30:00.0", "@T14:30:00.000"),  # spec ToTime example
        ("14", "@T14"),
    ],
)
def test_time_parse_iso(text: str, expected: str) -> None:
    parsed = Time.parse_iso(text)
    assert parsed is not None and parsed.to_cql() == expected


@pytest.mark.parametrize("text", ["T14-30-00.0", "25:00", "14:30:60", ""])
def test_time_parse_iso_malformed_is_none(text: str) -> None:
    assert Time.parse_iso(text) is None  # ToTimeMalformed


# -- ToString ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (DateTime(2000, 1, 1), "2000-01-01"),  # DateTimeToString1
        (DateTime(2000, 1, 1, tz_offset=-5), "2000-01-01"),  # offset only shown with a time
        (DateTime(2000, 1, 1, 15, 25, 25, 300), "2000-01-01T15:25:25.300"),  # DateTimeToString2
        (DateTime(2000, 1, 1, 8, 25, 25, 300, -7), "2000-01-01T08:25:25.300-07:00"),  # ...3
        (DateTime.parse("2012-01-01T12:30:00.000-05:00"), "2012-01-01T12:30:00.000-05:00"),
        (Time.parse("09:30:01.003"), "09:30:01.003"),  # TimeToString1
        (Date(2012, 1, 1), "2012-01-01"),
        (Date(2012), "2012"),
        (Time(9), "09"),
    ],
)
def test_to_string(value: Date | DateTime | Time, expected: str) -> None:
    assert value.to_string() == expected


def test_to_cql_renders_fractional_offsets_and_padding() -> None:
    assert DateTime(2003, 10, 29, 20, 50, 33, 955).to_cql() == "@2003-10-29T20:50:33.955"
    assert DateTime(1, 1, 1, 0, 0, 0, 5, Decimal("-5.5")).to_cql() == (
        "@0001-01-01T00:00:00.005-05:30"
    )
    assert DateTime(2017, 3, 12, 1, 0, 0, 0, Decimal("-7.0")).to_cql() == (
        "@2017-03-12T01:00:00.000-07:00"
    )  # DateTimeAA
    assert str(Date(2012, 1)) == "@2012-01"
    assert repr(Time(10)) == "Time(@T10)"


# -- components ------------------------------------------------------------------------------


def test_component_extraction() -> None:
    v = DateTime(2003, 10, 29, 20, 50, 33, 955, 1)
    assert v.component(Precision.YEAR) == 2003  # DateTimeComponentFromYear
    assert v.component("month") == 10
    assert v.component("day") == 29
    assert v.component("hour") == 20
    assert v.component("minute") == 50
    assert v.component("second") == 33
    assert v.component("millisecond") == 955
    assert v.tz_offset == Decimal("1.00")  # DateTimeComponentFromTimezone
    assert v.date() == Date(2003, 10, 29)  # DateTimeComponentFromDate
    assert v.to_date() == Date(2003, 10, 29)
    assert v.time() == Time(20, 50, 33, 955)
    assert DateTime(2003, 1, 29).month == 1  # ...FromMonthMinBoundary
    t = Time.parse("23:20:15.555")
    assert (t.hour, t.minute, t.second, t.millisecond) == (23, 20, 15, 555)
    # DateTimeTimeUnspecified / spec MonthFromIsNull
    assert DateTime.parse("2015-02-10T").hour is None
    assert DateTime(2012).component("month") is None
    assert DateTime(2012).time() is None
    assert DateTime(2012).date() == Date(2012)
    assert DateTime(2012, 5).is_complete_for("month")
    assert not DateTime(2012, 5).is_complete_for("day")


def test_component_rejects_foreign_precisions() -> None:
    with pytest.raises(CqlRuntimeError):
        Date(2012).component("hour")
    with pytest.raises(CqlRuntimeError):
        Time(10).component("year")
    with pytest.raises(CqlRuntimeError):
        DateTime(2012).component("week")


def test_date_to_datetime() -> None:
    # ToDateTimeDate / ToDateTimeTimeUnspecified: time stays unspecified.
    converted = Date(2014, 1, 1).to_datetime()
    assert converted.to_cql() == "@2014-01-01T"
    assert converted.hour is None
    assert Date(2014, 1, 1).to_datetime(Decimal(-5)).tz_offset == -5


# -- comparison ------------------------------------------------------------------------------

C = DateTime


@pytest.mark.parametrize(
    ("name", "left", "op", "right", "precision", "expected"),
    [
        # After
        ("DateTimeAfterYearTrue", C(2005, 10, 10), "after", C(2004, 10, 10), "year", True),
        ("DateTimeAfterYearFalse", C(2004, 11, 10), "after", C(2004, 10, 10), "year", False),
        ("DateTimeAfterMonthTrue", C(2004, 12, 10), "after", C(2004, 11, 10), "month", True),
        ("DateTimeAfterMonthFalse", C(2004, 9, 10), "after", C(2004, 10, 10), "month", False),
        ("DateTimeAfterDayTrue", C(2004, 12, 11), "after", C(2004, 10, 10), "day", True),
        ("DateTimeAfterDayTrue2", C(2004, 12, 9), "after", C(2003, 10, 10), "day", True),
        ("DateTimeAfterDayFalse", C(2004, 10, 9), "after", C(2004, 10, 10), "day", False),
        ("DateTimeAfterHourTrue", C(2004, 10, 10, 10), "after", C(2004, 10, 10, 5), "hour", True),
        (
            "DateTimeAfterHourFalse",
            C(2004, 10, 10, 20),
            "after",
            C(2004, 10, 10, 21),
            "hour",
            False,
        ),
        (
            "DateTimeAfterMinuteTrue",
            C(2004, 10, 10, 20, 30),
            "after",
            C(2004, 10, 10, 20, 29),
            "minute",
            True,
        ),
        (
            "DateTimeAfterSecondFalse",
            C(2004, 10, 10, 20, 30, 15),
            "after",
            C(2004, 10, 10, 20, 30, 16),
            "second",
            False,
        ),
        (
            "DateTimeAfterMillisecondTrue",
            C(2004, 10, 10, 20, 30, 15, 512),
            "after",
            C(2004, 10, 10, 20, 30, 15, 510),
            "millisecond",
            True,
        ),
        ("DateTimeAfterUncertain", C(2005, 10, 10), "after", C(2005, 9), "day", True),
        (
            "AfterTimezoneTrue",
            lit("@2012-03-10T10:20:00.999+07:00"),
            "after",
            lit("@2012-03-10T08:20:00.999+06:00"),
            "hour",
            True,
        ),
        (
            "AfterTimezoneFalse",
            lit("@2012-03-10T10:20:00.999+07:00"),
            "after",
            lit("@2012-03-10T10:20:00.999+06:00"),
            "hour",
            False,
        ),
        ("TimeAfterHourTrue", lit("@T15:59:59.999"), "after", lit("@T14:59:59.999"), "hour", True),
        (
            "TimeAfterMillisecondFalse",
            lit("@T15:59:59.998"),
            "after",
            lit("@T15:59:59.999"),
            "millisecond",
            False,
        ),
        ("TimeAfterTimeCstor", Time(12, 30), "after", Time(11, 55), "hour", True),
        ("spec AfterIsTrue", lit("@2012-02-01"), "after", lit("@2012-01-01"), "month", True),
        ("spec AfterIsFalse", lit("@2012-01-01"), "after", lit("@2012-01-01"), "month", False),
        ("spec AfterUncertainIsNull", lit("@2012-01-01"), "after", lit("@2012"), "month", None),
        # Before
        ("DateTimeBeforeYearTrue", C(2003), "before", C(2004, 10, 10), "year", True),
        ("DateTimeBeforeYearFalse", C(2004, 11, 10), "before", C(2003, 10, 10), "year", False),
        ("DateTimeBeforeDayTrue2", C(2003, 10, 11), "before", C(2004, 10, 10), "day", True),
        (
            "DateTimeBeforeMillisecondFalse",
            C(2004, 10, 10, 20, 30, 15, 599),
            "before",
            C(2004, 10, 10, 20, 30, 15, 513),
            "millisecond",
            False,
        ),
        (
            "BeforeTimezoneTrue",
            lit("@2012-03-10T10:20:00.999+07:00"),
            "before",
            lit("@2012-03-10T10:20:00.999+06:00"),
            "hour",
            True,
        ),
        (
            "BeforeTimezoneFalse",
            lit("@2012-03-10T10:20:00.999+07:00"),
            "before",
            lit("@2012-03-10T09:20:00.999+06:00"),
            "hour",
            False,
        ),
        (
            "TimeBeforeMinuteFalse",
            lit("@T15:59:59.999"),
            "before",
            lit("@T15:59:59.999"),
            "minute",
            False,
        ),
        ("spec BeforeUncertainIsNull", lit("@2012"), "before", lit("@2012-02-01"), "month", None),
        # SameAs
        ("DateTimeSameAsYearTrue", C(2014), "same_as", C(2014), "year", True),
        ("DateTimeSameAsYearFalse", C(2013), "same_as", C(2014), "year", False),
        ("DateTimeSameAsMonthTrue", C(2014, 12), "same_as", C(2014, 12), "month", True),
        ("DateTimeSameAsDayFalse", C(2014, 10, 10), "same_as", C(2014, 10, 11), "day", False),
        (
            "DateTimeSameAsMinuteFalse",
            C(2014, 10, 10, 20, 55),
            "same_as",
            C(2014, 10, 10, 21, 56),
            "minute",
            False,
        ),
        (
            "DateTimeSameAsMillisecondTrue",
            C(2014, 12, 10, 20, 55, 45, 500),
            "same_as",
            C(2014, 12, 10, 20, 55, 45, 500),
            "millisecond",
            True,
        ),
        ("DateTimeSameAsNull", C(2014, 10), "same_as", C(2014, 10, 12), "day", None),
        (
            "SameAsTimezoneTrue",
            lit("@2012-03-10T10:20:00.999+07:00"),
            "same_as",
            lit("@2012-03-10T09:20:00.999+06:00"),
            "hour",
            True,
        ),
        (
            "SameAsTimezoneFalse",
            lit("@2012-03-10T10:20:00.999+07:00"),
            "same_as",
            lit("@2012-03-10T10:20:00.999+06:00"),
            "hour",
            False,
        ),
        (
            "TimeSameAsHourTrue",
            lit("@T23:25:25.555"),
            "same_as",
            lit("@T23:55:25.900"),
            "hour",
            True,
        ),
        (
            "TimeSameAsSecondTrue",
            lit("@T23:55:25.555"),
            "same_as",
            lit("@T23:55:25.900"),
            "second",
            True,
        ),
        (
            "TimeSameAsMillisFalse",
            lit("@T23:25:25.555"),
            "same_as",
            lit("@T23:25:25.554"),
            "millisecond",
            False,
        ),
        (
            "DateTimeDayCompare",
            lit("@2022-02-22T00:00:00.000-05:00"),
            "same_as",
            lit("@2022-02-22T04:59:00.000Z"),
            "day",
            True,
        ),
        ("spec SameAsTrue", lit("@2012-01-01"), "same_as", lit("@2012-01-01"), "day", True),
        ("spec UncertainSameAsIsNull", lit("@2012-01-01"), "same_as", lit("@2012-01"), "day", None),
        ("Appendix H same month", lit("@2020-07-30"), "same_as", lit("@2020-07-31"), "month", True),
        # SameOrAfter
        ("DateTimeSameOrAfterYearTrue1", C(2014), "same_or_after", C(2014), "year", True),
        ("DateTimeSameOrAfterYearTrue2", C(2016), "same_or_after", C(2014), "year", True),
        ("DateTimeSameOrAfterYearFalse", C(2013), "same_or_after", C(2014), "year", False),
        (
            "DateTimeSameOrAfterMillisecondTrue2",
            C(2014, 10, 25, 10, 25, 20, 500),
            "same_or_after",
            C(2014, 10, 25, 10, 25, 20, 499),
            "millisecond",
            True,
        ),
        ("DateTimeSameOrAfterNull1", C(2014, 12, 20), "same_or_after", C(2014, 12), "day", None),
        (
            "SameOrAfterTimezoneTrue",
            lit("@2012-03-10T10:20:00.999+07:00"),
            "same_or_after",
            lit("@2012-03-10T09:20:00.999+06:00"),
            "hour",
            True,
        ),
        (
            "SameOrAfterTimezoneFalse",
            lit("@2012-03-10T10:20:00.999+07:00"),
            "same_or_after",
            lit("@2012-03-10T10:20:00.999+06:00"),
            "hour",
            False,
        ),
        (
            "TimeSameOrAfterMinuteTrue2",
            lit("@T23:25:25.555"),
            "same_or_after",
            lit("@T22:15:25.900"),
            "minute",
            True,
        ),
        (
            "TimeSameOrAfterMillisFalse",
            lit("@T23:55:25.555"),
            "same_or_after",
            lit("@T23:55:25.900"),
            "millisecond",
            False,
        ),
        (
            "OnOrAfterTrue",
            lit("@2017-12-20T11:00:00.000"),
            "same_or_after",
            lit("@2017-12-20T11:00:00.000"),
            None,
            True,
        ),
        (
            "Issue32DateTime",
            lit("@2017-12-21T02:00:00.0"),
            "same_or_after",
            lit("@2017-12-20T11:00:00.0"),
            None,
            True,
        ),
        # SameOrBefore
        ("DateTimeSameOrBeforeYearTrue2", C(2013), "same_or_before", C(2014), "year", True),
        (
            "DateTimeSameOrBeforeMonthFalse",
            C(2014, 12),
            "same_or_before",
            C(2014, 11),
            "month",
            False,
        ),
        (
            "DateTimeSameOrBeforeNull1",
            C(2014, 12, 20),
            "same_or_before",
            C(2014, 12, 20, 15),
            "minute",
            None,
        ),
        (
            "SameOrBeforeTimezoneTrue",
            lit("@2012-03-10T09:20:00.999+07:00"),
            "same_or_before",
            lit("@2012-03-10T10:20:00.999+06:00"),
            "hour",
            True,
        ),
        (
            "SameOrBeforeTimezoneFalse",
            lit("@2012-03-10T10:20:00.999+06:00"),
            "same_or_before",
            lit("@2012-03-10T10:20:00.999+07:00"),
            "hour",
            False,
        ),
        (
            "TimeSameOrBeforeMinuteFalse0",
            lit("@T23:10:25.555"),
            "same_or_before",
            lit("@T22:15:25.900"),
            "minute",
            False,
        ),
        (
            "TimeSameOrBeforeMillisFalse",
            lit("@T23:55:25.966"),
            "same_or_before",
            lit("@T23:55:25.900"),
            "millisecond",
            False,
        ),
        (
            "spec UncertainSameOrBeforeIsNull",
            lit("@2012-01-02"),
            "same_or_before",
            lit("@2012-01"),
            "day",
            None,
        ),
        # Seconds/milliseconds with an explicit millisecond precision stay uncertain.
        (
            "TimeProperContainsPrecisionNull-style",
            lit("@T12:00:00"),
            "same_or_after",
            lit("@T12:00:00.001"),
            "millisecond",
            None,
        ),
    ],
)
def test_timing_comparisons(name, left, op, right, precision, expected) -> None:  # type: ignore[no-untyped-def]
    assert getattr(left, op)(right, precision) is expected, name


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (C(2012, 2, 12), C(2012, 2, 10), 1),  # DateTimeGreaterTrue
        (C(2012, 2, 9), C(2012, 2, 10), -1),  # DateTimeLessTrue
        (C(2014), C(2014, 2, 15), None),  # UncertaintyGreaterNull etc.
        (C(2015), C(2014, 2, 15), 1),  # UncertaintyGreaterTrue
        (C(2013), C(2014, 2, 15), -1),  # UncertaintyLessTrue
        (lit("@T10:00:00.001"), lit("@T10:00:00.000"), 1),  # TimeGreaterTrue
        (lit("@T10:10:00.000"), lit("@T10:00:00.001"), 1),  # TimeLessFalse
        (lit("@2012-01-01"), lit("@2012-01-01T12"), None),  # spec DateTimeGreaterIsNull
        (C(2012, 2, 12, 0, 0, 0, 0), C(2012, 2, 12, 0, 0, 0, 0), 0),
        (C(2012, 2, 12, 1, 0, 0, 0), C(2012, 2, 12, 0, 0, 0, 0), 1),  # DateTimeLessEqFalse
    ],
)
def test_compare(left, right, expected) -> None:  # type: ignore[no-untyped-def]
    assert left.compare(right) == expected
    assert right.compare(left) == (None if expected is None else -expected)


def test_equality_and_equivalence() -> None:
    assert C(2014, 1, 5, 5, 0, 0, 0, 0).equal(C(2014, 1, 5, 5, 0, 0, 0, 0)) is True
    assert C(2014, 1, 5, 5, 0, 0, 0, 0).equal(C(2014, 7, 5, 5, 0, 0, 0, 0)) is False
    assert C(2015, 1, 5, 5, 0, 0).equal(C(2015, 1, 5, 5, 0, 0)) is True  # DateTimeEqMissingArg
    assert C(2001, 1, 1, None).equal(C(2001, 1, 1, None, None)) is True  # DateTimeEqTrue
    assert lit("@2014-01-25T14:30:14.559+01:00").equal(lit("@2014-01-25T14:30:14.559+01:00"))
    assert lit("@T10:00:00.000").equal(lit("@T22:00:00.000")) is False  # TimeEq10A10P
    # spec: DateTimeEqualIsNull / DateTimeEquivalentIsFalse
    assert lit("@2012-01-01").equal(lit("@2012-01-01T12")) is None
    assert lit("@2012-01-01").equivalent(lit("@2012-01-01T12")) is False
    assert lit("@2012-01-01").equivalent(lit("@2012-01-01T")) is True
    assert Date(2012).equivalent(Date(2012)) is True
    assert Date(2012).equivalent(Date(2012, 1)) is False
    assert lit("@T10:00:00.000").equivalent(lit("@T22:00:00.000")) is False


def test_equal_instants_in_different_offsets() -> None:
    a = lit("@2012-03-10T10:20:00.000+07:00")
    b = lit("@2012-03-10T09:20:00.000+06:00")
    assert a.equal(b) is True and a.equivalent(b) is True
    assert a != b  # Python equality stays structural
    # A DateTime without an offset is read in the other's offset.
    assert lit("@2012-03-10T10:20").equal(lit("@2012-03-10T10:20+07:00")) is True
    # Day precision: calendar days as written, no normalisation.
    assert lit("@2012-03-10T23:00+00:00").same_as(lit("@2012-03-11T04:00+05:00"), "day") is False
    assert lit("@2012-03-10T23:00+00:00").same_as(lit("@2012-03-11T04:00+05:00"), "hour") is True
    # Fractional offsets: -05:30 vs UTC.
    assert lit("@2012-03-10T04:30:00.000-05:30").equal(lit("@2012-03-10T10:00:00.000Z")) is True


def test_normalisation_with_a_day_precision_operand() -> None:
    # The hour-precision value is moved into the day-precision value's offset.
    day = DateTime(2012, 1, 2, tz_offset=Decimal(-5))
    hour = lit("@2012-01-02T03+00:00")  # 2012-01-01T22 at -05:00
    assert day.compare(hour) == 1
    assert hour.compare(day) == -1


def test_seconds_and_milliseconds_are_one_decimal_second() -> None:
    # Spec Equal examples (Types appendix: a missing millisecond is combined as .0).
    assert lit("@2024-11-15T12:30:00.0").equal(lit("@2024-11-15T12:30:00")) is True
    assert lit("@2024-11-15T12:30:00.5").equal(lit("@2024-11-15T12:30:00")) is False
    assert lit("@2024-11-15T12:30:00.5").equal(lit("@2024-11-14T12:30")) is False
    assert lit("@2024-11-15T12:30:00.5").equal(lit("@2024-11-15T12:30")) is None
    assert lit("@T15:59:59.999").equal(lit("@T15:59:59")) is False
    assert lit("@T12:00:00").compare(lit("@T12:00:00.001")) == -1
    # ... but explicit millisecond precision needs milliseconds (DateTimeIncludedInPrecisionNull).
    assert (
        lit("@2017-09-01T00:00:00").same_or_after(lit("@2017-09-01T00:00:00.000"), "millisecond")
        is None
    )
    assert lit("@2017-09-01T00:00:00").same_or_after(lit("@2017-09-01T00:00:00.000"), "second")
    assert lit("@2017-09-01T00:00:00").same_or_after(lit("@2017-09-01T00:00:00.000"), "day")


def test_conformance_reading_of_seconds_versus_milliseconds(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # DateTimeIncludedInNull / TimeProperContainsNull / ProperContainsTimeNull expect null.
    monkeypatch.setattr(temporal, "COMBINE_SECONDS_AND_MILLISECONDS", False)
    assert lit("@2017-09-01T00:00:00").compare(lit("@2017-09-01T00:00:00.000")) is None
    assert lit("@T15:59:59.999").equal(lit("@T15:59:59")) is None
    assert lit("@T12:00:00.001").compare(lit("@T12:00:00")) is None
    assert lit("@T12:00:01").compare(lit("@T12:00:00.001")) == 1


def test_mixed_date_and_datetime_compare_as_datetime() -> None:
    assert Date(2012, 1, 1).equal(DateTime(2012, 1, 1)) is True
    assert DateTime(2012, 1, 1, 10).after(Date(2011, 12, 31)) is True
    assert Date(2012, 1, 1).compare(DateTime(2012, 1, 1, 10)) is None
    assert Date(2012, 1, 1).same_as(DateTime(2012, 1, 1, 10), "day") is True


def test_invalid_comparisons() -> None:
    with pytest.raises(CqlRuntimeError):
        Date(2012).compare(Time(10))  # type: ignore[arg-type]
    with pytest.raises(CqlRuntimeError):
        Date(2012).same_as(Date(2012), "hour")
    with pytest.raises(CqlRuntimeError):
        DateTime(2012).same_as(DateTime(2012), "week")  # spec: weeks not supported
    with pytest.raises(CqlRuntimeError):
        Time(10).before(Time(11), "day")


def test_precision_beyond_both_values_is_unknown() -> None:
    assert C(2014).same_as(C(2014), "day") is None
    assert C(2014).same_as(C(2013), "day") is False  # decided before the missing day


def test_sort_key_orders_less_precise_first() -> None:
    # SortDatesAsc
    values = [C(2012, 10, 5, 10), C(2012, 1, 1), C(2012, 1, 1, 12), C(2012, 10, 5)]
    ordered = sorted(values, key=lambda v: v.sort_key())
    assert [v.to_cql() for v in ordered] == [
        "@2012-01-01T",
        "@2012-01-01T12",
        "@2012-10-05T",
        "@2012-10-05T10",
    ]
    tz = [lit("@2012-01-01T10:00+05:00"), lit("@2012-01-01T06:00+00:00")]
    assert sorted(tz, key=lambda v: v.sort_key())[0] == tz[0]


# -- arithmetic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "amount", "unit", "expected"),
    [
        ("DateTimeAdd5Years", C(2005, 10, 10), 5, "years", "@2010-10-10T"),
        ("DateTimeAdd5Months", C(2005, 5, 10), 5, "months", "@2005-10-10T"),
        ("DateTimeAddMonthsOverflow", C(2005, 5, 10), 10, "months", "@2006-03-10T"),
        ("DateTimeAdd5Days", C(2005, 5, 10), 5, "days", "@2005-05-15T"),
        ("DateTimeAddDaysOverflow", C(2016, 6, 10), 21, "days", "@2016-07-01T"),
        ("DateTimeAdd5Hours", C(2005, 5, 10, 5), 5, "hours", "@2005-05-10T10"),
        (
            "DateTimeAdd5HoursWithLeftMinPrecisionSecond",
            C(2005, 5, 10, 5, 20, 30),
            5,
            "hours",
            "@2005-05-10T10:20:30",
        ),
        ("DateTimeAdd5HoursWithLeftMinPrecisionDay", C(2005, 5, 10), 5, "hours", "@2005-05-10T"),
        ("...DayOverflow", C(2005, 5, 10), 25, "hours", "@2005-05-11T"),
        ("DateAdd2YearsAsMonths", Date(2014), 24, "months", "@2016"),
        ("DateAdd2YearsAsMonthsRem1", Date(2014), 25, "months", "@2016"),
        ("DateAdd33Days", Date(2014, 6), 33, "days", "@2014-07"),
        ("DateAdd1Year", Date(2014, 6), 1, "year", "@2015-06"),
        ("DateTimeAddHoursOverflow", C(2016, 6, 10, 5), 19, "hours", "@2016-06-11T00"),
        ("DateTimeAdd5Minutes", C(2005, 5, 10, 5, 5), 5, "minutes", "@2005-05-10T05:10"),
        ("DateTimeAddMinutesOverflow", C(2016, 6, 10, 5, 5), 55, "minutes", "@2016-06-10T06:00"),
        ("DateTimeAdd5Seconds", C(2005, 5, 10, 5, 5, 5), 5, "seconds", "@2005-05-10T05:05:10"),
        (
            "DateTimeAddSecondsOverflow",
            C(2016, 6, 10, 5, 5, 5),
            55,
            "seconds",
            "@2016-06-10T05:06:00",
        ),
        (
            "DateTimeAdd5Milliseconds",
            C(2005, 5, 10, 5, 5, 5, 5),
            5,
            "milliseconds",
            "@2005-05-10T05:05:05.010",
        ),
        (
            "DateTimeAddMillisecondsOverflow",
            C(2016, 6, 10, 5, 5, 5, 5),
            995,
            "milliseconds",
            "@2016-06-10T05:05:06.000",
        ),
        ("DateTimeAddLeapYear", C(2012, 2, 29), 1, "year", "@2013-02-28T"),
        ("DateTimeAdd2YearsByMonths", C(2014), 24, "months", "@2016T"),
        ("DateTimeAdd2YearsByDays", C(2014), 730, "days", "@2016T"),
        ("DateTimeAdd2YearsByDaysRem5Days", C(2014), 735, "days", "@2016T"),
        ("spec DateTime(2014) + 18 months", C(2014), 18, "months", "@2015T"),
        ("spec DateTime(2014) + 364 days", C(2014), 364, "days", "@2014T"),
        ("TimeAdd5Hours", lit("@T15:59:59.999"), 5, "hours", "@T20:59:59.999"),
        ("TimeAdd1Minute", lit("@T15:59:59.999"), 1, "minute", "@T16:00:59.999"),
        ("TimeAdd1Second", lit("@T15:59:59.999"), 1, "seconds", "@T16:00:00.999"),
        ("TimeAdd1Millisecond", lit("@T15:59:59.999"), 1, "milliseconds", "@T16:00:00.000"),
        ("TimeAdd5hoursByMinute", lit("@T15:59:59.999"), 300, "minutes", "@T20:59:59.999"),
        ("spec Time wraps", lit("@T23:30:00"), 1, "hour", "@T00:30:00"),
        ("Jan 31 + 1 month", Date(2014, 1, 31), 1, "month", "@2014-02-28"),
        ("Jan 31 + 1 month leap", Date(2012, 1, 31), 1, "month", "@2012-02-29"),
        ("weeks", Date(2018, 5, 2), 3, "weeks", "@2018-05-23"),
        ("offset kept", lit("@2012-01-01T10:00+05:30"), 1, "day", "@2012-01-02T10:00+05:30"),
        ("fraction of a day ignored", C(2012, 1, 1, 10), Decimal("1.9"), "days", "@2012-01-02T10"),
        (
            "fraction of a second kept to ms",
            lit("@2012-01-01T10:00:00.000"),
            Decimal("1.5"),
            "seconds",
            "@2012-01-01T10:00:01.500",
        ),
        (
            "fraction of a second at second precision",
            lit("@2012-01-01T10:00:00"),
            Decimal("1.5"),
            "seconds",
            "@2012-01-01T10:00:01",
        ),
        ("fraction of a year ignored", Date(2012, 5), Decimal("1.5"), "years", "@2013-05"),
        ("UCUM day", Date(2012, 5, 1), 2, "d", "@2012-05-03"),
    ],
)
def test_add(name: str, value, amount, unit: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert value.add(amount, unit).to_cql() == expected, name


@pytest.mark.parametrize(
    ("name", "value", "amount", "unit", "expected"),
    [
        ("DateTimeSubtract5Years", C(2005, 10, 10), 5, "years", "@2000-10-10T"),
        ("DateTimeSubtract5Months", C(2005, 6, 10), 5, "months", "@2005-01-10T"),
        ("DateTimeSubtractMonthsUnderflow", C(2005, 5, 10), 6, "months", "@2004-11-10T"),
        ("DateTimeSubtract5Days", C(2005, 5, 10), 5, "days", "@2005-05-05T"),
        ("DateTimeSubtractDaysUnderflow", C(2016, 6, 10), 11, "days", "@2016-05-30T"),
        ("DateTimeSubtractHoursUnderflow", C(2016, 6, 10, 5), 6, "hours", "@2016-06-09T23"),
        (
            "DateTimeSubtractMinutesUnderflow",
            C(2016, 6, 10, 5, 5),
            6,
            "minutes",
            "@2016-06-10T04:59",
        ),
        (
            "DateTimeSubtract15HourPrecisionSecond",
            C(2016, 10, 1, 10, 20, 30),
            15,
            "hours",
            "@2016-09-30T19:20:30",
        ),
        (
            "DateTimeSubtractMillisecondsUnderflow",
            C(2016, 6, 10, 5, 5, 5, 5),
            6,
            "milliseconds",
            "@2016-06-10T05:05:04.999",
        ),
        ("DateTimeSubtract2YearsAsMonths", C(2014), 24, "months", "@2012T"),
        ("DateTimeSubtract2YearsAsMonthsRem1", C(2014), 25, "months", "@2012T"),
        ("DateSubtract2YearsAsMonthsRem1", Date(2014), 25, "months", "@2012"),
        ("DateSubtract33Days", Date(2014, 6), 33, "days", "@2014-05"),
        ("DateSubtract1Year", Date(2014, 6), 1, "year", "@2013-06"),
        ("spec DateTime(2014) - 18 months", C(2014), 18, "months", "@2013T"),
        ("TimeSubtract5Hours", lit("@T15:59:59.999"), 5, "hours", "@T10:59:59.999"),
        ("TimeSubtract1Millisecond", lit("@T15:59:59.0"), 1, "milliseconds", "@T15:59:58.999"),
        ("TimeSubtract5hoursByMinute", lit("@T15:59:59.999"), 300, "minutes", "@T10:59:59.999"),
        ("spec Time wraps 1", lit("@T00:30:00"), 1, "hour", "@T23:30:00"),
        ("spec Time wraps 2", lit("@T01:00:00"), 2, "hours", "@T23:00:00"),
        ("Mar 31 - 1 month", Date(2014, 3, 31), 1, "month", "@2014-02-28"),
    ],
)
def test_subtract(name: str, value, amount, unit: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert value.subtract(amount, unit).to_cql() == expected, name


@pytest.mark.parametrize(
    ("value", "amount", "unit", "expected"),
    [
        (C(2018, 5, 2), 3, "weeks", C(2018, 5, 23)),  # DateTimeAddThreeWeeks
        (C(2018, 5, 23), 52, "weeks", C(2019, 5, 22)),  # DateTimeAddYearInWeeks
        (C(2023, 3, 2), 52, "weeks", C(2024, 2, 29)),  # DateTimeLeapDayAddYearInWeeks
        (C(2024, 2, 28), 52, "weeks", C(2025, 2, 26)),  # DateTimeLeapYearAddYearInWeeks
        (C(2018, 5, 23), -3, "weeks", C(2018, 5, 2)),  # DateTimeSubtractThreeWeeks
        (C(2018, 5, 23), -52, "weeks", C(2017, 5, 24)),  # DateTimeSubtractYearInWeeks
        (C(2024, 2, 29), -52, "weeks", C(2023, 3, 2)),  # DateTimeLeapDaySubtractYearInWeeks
        (C(2024, 3, 1), -52, "weeks", C(2023, 3, 3)),  # DateTimeLeapYearSubtractYearInWeeks
        (C(2016, 5), -31535999, "seconds", C(2015, 5)),  # DateTimeSubtract1YearInSeconds
    ],
)
def test_arithmetic_equalities(value, amount, unit, expected) -> None:  # type: ignore[no-untyped-def]
    assert value.add(amount, unit).equal(expected) is True


def test_time_arithmetic_chains() -> None:
    t = lit("@T15:59:59.999")
    assert t.add(5, "hours").add(1, "minutes").to_cql() == "@T21:00:59.999"  # TimeAdd5Hours1Minute
    assert t.subtract(5, "hours").subtract(1, "minutes").to_cql() == "@T10:58:59.999"


def test_today_plus_day_is_later() -> None:
    today = now_from(dt.datetime(2024, 2, 29, 23, 0, tzinfo=dt.UTC)).date()
    assert today.add(1, "days").compare(today) == 1  # DateTimeAddTodayTrue
    assert today.same_or_before(today.add(1, "days"), "day") is True
    assert today.add(1, "years").same_or_before(today, "day") is False
    assert today.add(1, "years") == Date(2025, 2, 28)


@pytest.mark.parametrize(
    "operation",
    [
        lambda: C(2005, 10, 10).add(8000, "years"),  # DateTimeAddInvalidYears
        lambda: C(2005, 10, 10).subtract(2005, "years"),  # DateTimeSubtractInvalidYears
        lambda: C(9999, 12, 31, 23).add(1, "hour"),
        lambda: Date(1, 1, 1).subtract(1, "day"),
        lambda: Date(2012).add(1, "hour"),  # Date units: years..days only
        lambda: Time(10).add(1, "day"),  # Time units: hours..milliseconds only
        lambda: Date(2012).add(1, "fortnights"),
    ],
)
def test_arithmetic_errors(operation) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CqlRuntimeError):
        operation()


def test_add_zero_returns_equal_value() -> None:
    v = lit("@2012-01-31T10:00+01:00")
    assert v.add(0, "months") == v
    assert v.add(Decimal("0.4"), "days") == v


# -- successor / predecessor / limits / boundaries -------------------------------------------


def test_successor_and_predecessor() -> None:
    assert C(2000, 1, 1).successor().to_cql() == "@2000-01-02T"  # SuccessorOfJan12000
    assert C(2000, 1, 1).predecessor().to_cql() == "@1999-12-31T"  # PredecessorOfJan12000
    assert lit("@T12:00:00.000").successor().to_cql() == "@T12:00:00.001"  # SuccessorOfNoon
    assert lit("@T12:00:00.000").predecessor().to_cql() == "@T11:59:59.999"  # PredecessorOfNoon
    assert C(2012).successor() == C(2013)
    assert Date(2012, 12).successor() == Date(2013, 1)
    assert lit("@T10:59").successor() == lit("@T11:00")
    assert lit("@2012-01-01T10:00:00").successor() == lit("@2012-01-01T10:00:01")


@pytest.mark.parametrize(
    "operation",
    [
        lambda: C(9999, 12, 31, 23, 59, 59, 999).successor(),  # SuccessorOverflowDt
        lambda: lit("@T23:59:59.999").successor(),  # SuccessorOverflowT
        lambda: C(1, 1, 1, 0, 0, 0, 0).predecessor(),  # PredecessorUnderflowDt
        lambda: lit("@T00:00:00.000").predecessor(),  # PredecessorUnderflowT
        lambda: Date(9999, 12, 31).successor(),
        lambda: Time(23).successor(),
    ],
)
def test_successor_overflow(operation) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CqlRuntimeError):
        operation()


def test_min_and_max_values() -> None:
    assert DateTime.min_value().to_cql() == "@0001-01-01T00:00:00.000+00:00"
    assert DateTime.max_value().to_cql() == "@9999-12-31T23:59:59.999+00:00"
    assert DateTime.min_value(None).tz_offset is None
    assert Date.min_value().to_cql() == "@0001-01-01"
    assert Date.max_value().to_cql() == "@9999-12-31"
    assert Time.min_value().to_cql() == "@T00:00:00.000"
    assert Time.max_value().to_cql() == "@T23:59:59.999"
    # Normalising near the ends of the range must not overflow.
    assert DateTime.min_value().compare(C(1, 1, 1, 0, 0, 0, 0, Decimal(-5))) == -1
    assert DateTime.max_value().compare(C(9999, 12, 31, 23, 0, 0, 0, Decimal(5))) == 1


def test_precision_digits() -> None:
    assert lit("@2014").precision_digits == 4  # PrecisionYear
    assert lit("@2014-01-05T10:30:00.000").precision_digits == 17  # PrecisionDateTimeMilliseconds
    assert lit("@T10:30").precision_digits == 4  # PrecisionTimeMinutes
    assert lit("@T10:30:00.000").precision_digits == 9  # PrecisionTimeMilliseconds
    assert Date.precision_for_digits(6) is Precision.MONTH
    assert DateTime.precision_for_digits(17) is Precision.MILLISECOND
    assert Time.precision_for_digits(2) is Precision.HOUR
    assert DateTime.precision_for_digits(5) is None


def test_boundaries() -> None:
    assert Date(2014).high_boundary("month").to_cql() == "@2014-12"  # HighBoundaryDateMonth
    assert Date(2014).low_boundary("month").to_cql() == "@2014-01"  # LowBoundaryDateMonth
    assert lit("@2014-01-01T08").high_boundary("millisecond").to_cql() == (
        "@2014-01-01T08:59:59.999"
    )  # HighBoundaryDateTimeMillisecond
    assert lit("@2014-01-01T08").low_boundary().to_cql() == "@2014-01-01T08:00:00.000"
    assert lit("@T10:30").high_boundary().to_cql() == "@T10:30:59.999"  # HighBoundaryTime...
    assert lit("@T10:30").low_boundary().to_cql() == "@T10:30:00.000"  # LowBoundaryTime...
    assert Date(2012, 2).high_boundary().to_cql() == "@2012-02-29"
    assert Date(2013, 2).high_boundary().to_cql() == "@2013-02-28"
    assert lit("@2014T+01:00").high_boundary().to_cql() == "@2014-12-31T23:59:59.999+01:00"
    # A coarser boundary truncates.
    assert Date(2014, 5, 6).low_boundary("year") == Date(2014)
    assert lit("@T10:30:15").truncate("hour") == Time(10)


# -- duration and difference --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "left", "right", "unit", "expected"),
    [
        ("DateTimeDurationBetweenYear", C(2005), C(2010), "years", Uncertainty(4, 5)),
        ("DateTimeDurationBetweenYearOffset", C(2005, 5), C(2010, 4), "years", 4),
        ("DateTimeDurationBetweenMonth", lit("@2014-01-31"), lit("@2014-02-01"), "months", 0),
        (
            "DateTimeDurationBetweenDaysDiffYears",
            C(2010, 10, 12, 12, 5),
            C(2008, 8, 15, 8, 8),
            "days",
            -788,
        ),
        (
            "DateTimeDurationBetweenUncertainInterval2",
            C(2005),
            C(2006, 5),
            "months",
            Uncertainty(4, 16),
        ),
        (
            "DateTimeUncertain (CqlTypesTest)",
            C(2015, 2, 10),
            C(2015, 3),
            "days",
            Uncertainty(18, 49),
        ),
        ("months between 2005 and 2006-07", C(2005), C(2006, 7), "months", Uncertainty(6, 18)),
        (
            "DurationInYears",
            lit("@2012-03-10T10:20:00").date(),
            lit("@2013-03-10T09:20:00").date(),
            "years",
            1,
        ),
        ("DurationInWeeks", lit("@2012-03-10T22:05:09"), lit("@2012-03-20T07:19:33"), "weeks", 1),
        ("DurationInWeeks2", lit("@2012-03-10T22:05:09"), lit("@2012-03-24T07:19:33"), "weeks", 1),
        ("DurationInWeeks3", lit("@2012-03-10T06:05:09"), lit("@2012-03-24T07:19:33"), "weeks", 2),
        ("TimeDurationBetweenHour", lit("@T20:26:15.555"), lit("@T23:25:15.555"), "hours", 2),
        ("TimeDurationBetweenMinute", lit("@T23:20:16.555"), lit("@T23:25:15.555"), "minutes", 4),
        ("TimeDurationBetweenSecond", lit("@T23:25:10.556"), lit("@T23:25:15.555"), "seconds", 4),
        (
            "TimeDurationBetweenMillis",
            lit("@T23:25:25.555"),
            lit("@T23:25:25.560"),
            "milliseconds",
            5,
        ),
        (
            "DurationInHoursA",
            lit("@2017-03-12T01:00:00-07:00"),
            lit("@2017-03-12T03:00:00-06:00"),
            "hours",
            1,
        ),
        (
            "DurationInMinutesA",
            lit("@2017-11-05T01:30:00-06:00"),
            lit("@2017-11-05T01:15:00-07:00"),
            "minutes",
            45,
        ),
        (
            "DurationInDaysA",
            lit("@2017-03-12T00:00:00-07:00"),
            lit("@2017-03-13T00:00:00-06:00"),
            "days",
            0,
        ),
        (
            "DurationInDaysAA",
            C(2017, 3, 12, 0, 0, 0, 0, Decimal("-7.0")),
            C(2017, 3, 13, 0, 0, 0, 0, Decimal("-6.0")),
            "days",
            0,
        ),
        # Spec examples
        ("spec DurationInMonths", lit("@2012-01-01"), lit("@2012-02-01"), "months", 1),
        ("spec days Date uncertain", Date(2014, 1, 15), Date(2014, 2), "days", Uncertainty(17, 44)),
        ("spec [6, 7]", lit("@2017-08-07T17:00"), lit("@2017-08-14T"), "days", Uncertainty(6, 7)),
        ("spec month dates", lit("@2012-01"), lit("@2012-02"), "days", Uncertainty(1, 59)),
        (
            "spec seconds+ms combined",
            lit("@2012-01-01T01:00:00"),
            lit("@2012-01-01T02:00:00.0"),
            "hours",
            1,
        ),
        # Appendix H
        ("H years 1", lit("@2012-03-10T22:05:09"), lit("@2013-02-18T19:10:03"), "years", 0),
        ("H years 2a", lit("@2012-03-10T22:05:09"), lit("@2013-03-10T22:05:09"), "years", 1),
        ("H years 3a", lit("@2012-02-20"), lit("@2014-02-10"), "years", 1),
        ("H years 4b", lit("@2012-02-29T10:18:56"), lit("@2014-02-28T19:02:34"), "years", 2),
        ("H years 5", lit("@2012-02-20T10:20:56"), lit("@2011-03-19T19:16:02"), "years", 0),
        ("H years 6a", lit("@2013-05-11T20:06:10"), lit("@2012-05-11T20:06:10"), "years", -1),
        ("H years 7", lit("@2013-03-20T05:01:30"), lit("@2011-03-30T06:45:50"), "years", -1),
        ("H years 8b", lit("@2015-11-05T05:50:45"), lit("@2013-03-29T11:01:05"), "years", -2),
        ("H years time", lit("@2012-03-10T10:20:00"), lit("@2013-03-10T09:20:00"), "years", 0),
        ("H months 1a", lit("@2012-03-01T14:05:45"), lit("@2012-03-31T23:01:49"), "months", 0),
        ("H months 1b", lit("@2012-03-10T22:05:09"), lit("@2013-06-30T13:00:23"), "months", 15),
        ("H months 2", lit("@2012-03-10T22:05:09"), lit("@2013-01-09T07:19:33"), "months", 9),
        ("H months 3b", lit("@2014-05-10T21:02:45"), lit("@2013-01-08T11:13:06"), "months", -16),
        ("H months 4", lit("@2012-06-11T12:16:17"), lit("@2011-08-21T05:48:02"), "months", -9),
        ("H weeks 2", lit("@2013-05-26T23:06:11"), lit("@2013-05-12T20:25:30"), "weeks", -2),
        ("H days 1", lit("@2012-01-31T12:30:00"), lit("@2012-02-01T09:00:00"), "days", 0),
        ("H days 2", lit("@2012-01-31T12:30:00"), lit("@2012-02-01T14:00:00"), "days", 1),
        ("H days 3", lit("@2011-12-05T05:00:00"), lit("@2011-12-04T08:45:00"), "days", 0),
        ("H days 4", lit("@2011-12-05T05:00:00"), lit("@2011-12-04T01:30:00"), "days", -1),
        ("H hours 1", lit("@2012-03-01T03:10:00"), lit("@2012-03-01T05:09:00"), "hours", 1),
        ("H hours 2", lit("@2012-02-29T23:10:00"), lit("@2012-03-01T00:10:00"), "hours", 1),
        ("H hours 5", lit("@2013-10-10T01:45:00"), lit("@2013-10-09T23:45:00"), "hours", -2),
        ("H hours 6", lit("@2013-10-10T12:00:00"), lit("@2013-10-10T11:30:00"), "hours", 0),
        ("H minutes 2", lit("@2012-02-29T23:10:00"), lit("@2012-03-01T00:20:00"), "minutes", 70),
        ("H minutes 4", lit("@2012-12-30T00:20:00"), lit("@2012-12-29T22:00:00"), "minutes", -140),
        (
            "H timing table",
            lit("@2020-07-01T08:31:00.0"),
            lit("@2020-07-01T10:30:00.0"),
            "hours",
            1,
        ),
    ],
)
def test_duration_between(name, left, right, unit, expected) -> None:  # type: ignore[no-untyped-def]
    assert left.duration_between(right, unit) == expected, name


def test_duration_of_uncertain_day_precision_datetimes() -> None:
    # DateTimeDurationBetweenUncertainInterval expects [17, 44] but the suite's own Add /
    # Multiply / Subtract tests over the same expression need [16, 44] (a DateTime day can end
    # at 23:59:59.999); the spec's [17, 44] example is for Date values (checked above).
    assert C(2014, 1, 15).duration_between(C(2014, 2), "days") == Uncertainty(16, 44)


def test_duration_of_uncertain_time() -> None:
    # TimeDurationBetweenHourDiffPrecision2 expects 1; with the spec's "latest/earliest possible
    # value" rule @T06 may be 06:59:59.999, so the range is [0, 1].
    assert lit("@T06").duration_between(lit("@T07:00:00"), "hours") == Uncertainty(0, 1)


@pytest.mark.parametrize(
    ("name", "left", "right", "unit", "expected"),
    [
        ("DateTimeDifferenceYear", C(2000), C(2005, 12), "years", 5),
        ("DateTimeDifferenceMonth", C(2000, 2), C(2000, 10), "months", 8),
        ("DateTimeDifferenceDay", C(2000, 10, 15, 10, 30), C(2000, 10, 25, 10, 0), "days", 10),
        ("DateTimeDifferenceHour", C(2000, 4, 1, 12), C(2000, 4, 1, 20), "hours", 8),
        ("DateTimeDifferenceMinute", C(2005, 12, 10, 5, 16), C(2005, 12, 10, 5, 25), "minutes", 9),
        (
            "DateTimeDifferenceSecond",
            C(2000, 10, 10, 10, 5, 45),
            C(2000, 10, 10, 10, 5, 50),
            "seconds",
            5,
        ),
        (
            "DateTimeDifferenceMillisecond",
            C(2000, 10, 10, 10, 5, 45, 500, Decimal("-6.0")),
            C(2000, 10, 10, 10, 5, 45, 900, Decimal("-7.0")),
            "milliseconds",
            3600400,
        ),
        ("DateTimeDifferenceWeeks", C(2000, 10, 15), C(2000, 10, 28), "weeks", 1),
        ("DateTimeDifferenceWeeks2", C(2000, 10, 15), C(2000, 10, 29), "weeks", 2),
        (
            "DateTimeDifferenceWeeks3",
            lit("@2012-03-10T22:05:09"),
            lit("@2012-03-24T07:19:33"),
            "weeks",
            2,
        ),
        ("DateTimeDifferenceNegative", C(2016), C(1998), "years", -18),
        ("TimeDifferenceHour", lit("@T20"), lit("@T23:25:15.555"), "hours", 3),
        ("TimeDifferenceMinute", lit("@T20:20:15.555"), lit("@T20:25:15.555"), "minutes", 5),
        ("TimeDifferenceSecond", lit("@T20:20:15.555"), lit("@T20:20:20.555"), "seconds", 5),
        ("TimeDifferenceMillis", lit("@T20:20:15.555"), lit("@T20:20:15.550"), "milliseconds", -5),
        (
            "DifferenceInHoursA",
            lit("@2017-03-12T01:00:00-07:00"),
            lit("@2017-03-12T03:00:00-06:00"),
            "hours",
            1,
        ),
        (
            "DifferenceInMinutesA",
            lit("@2017-11-05T01:30:00-06:00"),
            lit("@2017-11-05T01:15:00-07:00"),
            "minutes",
            45,
        ),
        (
            "DifferenceInDaysA",
            lit("@2017-03-12T00:00:00-07:00"),
            lit("@2017-03-13T00:00:00-06:00"),
            "days",
            1,
        ),
        (
            "DifferenceInHoursAA",
            C(2017, 3, 12, 1, 0, 0, 0, Decimal("-7.0")),
            C(2017, 3, 12, 3, 0, 0, 0, Decimal("-6.0")),
            "hours",
            1,
        ),
        ("spec DifferenceInMonths", lit("@2012-01-01"), lit("@2012-02-01"), "months", 1),
        (
            "spec UncertainDifferenceInMonths",
            lit("@2012-01-02"),
            lit("@2012"),
            "months",
            Uncertainty(0, 11),
        ),
        # Appendix H difference examples
        ("H diff 1", lit("@2012-03-01T03:10:00"), lit("@2012-12-31T10:10:00"), "years", 0),
        ("H diff 2", lit("@2012-12-31T03:10:00"), lit("@2013-01-01T10:10:00"), "years", 1),
        ("H diff 3", lit("@2016-10-10T09:00:00"), lit("@2016-10-11T11:59:00"), "days", 1),
        ("H diff 4", lit("@2016-10-10T09:00:00"), lit("@2016-10-12T00:00:00"), "days", 2),
        (
            "H diff 5",
            lit("@2017-03-12T01:12:05.1-05:00"),
            lit("@2017-03-12T03:22:27.6-04:00"),
            "hours",
            1,
        ),
        (
            "H diff 6",
            lit("@2017-11-05T01:30:00.0-04:00"),
            lit("@2017-11-05T01:15:00.0-05:00"),
            "minutes",
            45,
        ),
        (
            "H diff 7",
            lit("@2017-03-12T00:00:00.0-05:00"),
            lit("@2017-03-13T00:00:00.0-04:00"),
            "days",
            1,
        ),
        ("H diff 9", lit("@2019-01-01T14:40:30"), lit("@2018-12-31T13:30:45"), "years", -1),
        ("H diff 10", lit("@2013-05-30T12:15:15"), lit("@2013-01-15T13:01:45"), "months", -4),
        ("H diff 11", lit("@2017-11-14T11:30:00"), lit("@2017-11-12T13:00:00"), "days", -2),
        (
            "H diff 12",
            lit("@2011-06-29T15:45:59-05:00"),
            lit("@2011-06-29T13:30:12-04:00"),
            "hours",
            -3,
        ),
        (
            "H diff 13",
            lit("@2016-10-31T04:30:17-04:00"),
            lit("@2016-10-31T02:45:55-05:00"),
            "minutes",
            -45,
        ),
        ("H timing diff", lit("@2020-07-01T08:31:00.0"), lit("@2020-07-01T10:30:00.0"), "hours", 2),
        ("Duration vs difference", lit("@2012-12-31"), lit("@2013-01-01"), "years", 1),
        ("Sat to Sun crosses a week", lit("@2024-06-08"), lit("@2024-06-09"), "weeks", 1),
    ],
)
def test_difference_between(name, left, right, unit, expected) -> None:  # type: ignore[no-untyped-def]
    assert left.difference_between(right, unit) == expected, name


def test_difference_uncertain_compares_like_the_conformance_suite() -> None:
    # DateTimeDifferenceUncertain: difference in months between DateTime(2005) and
    # DateTime(2006, 7) > 5 -> true
    result = C(2005).difference_between(C(2006, 7), "months")
    assert result == Uncertainty(7, 18)
    assert isinstance(result, Uncertainty) and result.greater(5) is True


def test_between_mixed_date_and_datetime() -> None:
    # The Date becomes a day-precision DateTime whose time of day is unknown, so (as with
    # DateTimeUncertain) whole days are uncertain; Dates alone have no time of day.
    assert Date(2012, 1, 1).duration_between(DateTime(2012, 1, 3), "days") == Uncertainty(1, 2)
    assert Date(2012, 1, 1).duration_between(Date(2012, 1, 3), "days") == 2
    assert DateTime(2012, 1, 1, 10).duration_between(Date(2012, 1, 3), "days") == Uncertainty(1, 2)
    assert Date(2012, 1, 1).difference_between(DateTime(2012, 1, 3, 23), "days") == 2


def test_between_unit_validation() -> None:
    with pytest.raises(CqlRuntimeError):
        Date(2012).duration_between(Date(2013), "hours")
    with pytest.raises(CqlRuntimeError):
        Time(10).difference_between(Time(11), "days")
    with pytest.raises(CqlRuntimeError):
        Time(10).duration_between(Date(2012), "hours")  # type: ignore[arg-type]
    assert Date(2012, 1, 1).duration_between(Date(2012, 1, 15), "weeks") == 2


# -- uncertainty ---------------------------------------------------------------------------


def _days_uncertainty() -> Uncertainty:
    result = C(2014, 1, 15).duration_between(C(2014, 2), "days")
    assert isinstance(result, Uncertainty)
    return result


def _months_uncertainty() -> Uncertainty:
    result = C(2005).duration_between(C(2006, 5), "months")
    assert isinstance(result, Uncertainty)
    return result


def test_uncertainty_arithmetic_matches_the_conformance_suite() -> None:
    days, months = _days_uncertainty(), _months_uncertainty()
    assert days.add(days) == Uncertainty(32, 88)  # DateTimeDurationBetweenUncertainAdd
    assert days.subtract(months) == Uncertainty(0, 40)  # ...UncertainSubtract
    assert days.multiply(days) == Uncertainty(256, 1936)  # ...UncertainMultiply
    # Spec "Uncertainty: Arithmetic Operators"
    assert Uncertainty(17, 44).add(Uncertainty(5, 10)) == Uncertainty(22, 54)
    assert Uncertainty(17, 44).multiply(Uncertainty(2, 4)) == Uncertainty(34, 176)
    assert Uncertainty(-2, 3).multiply(Uncertainty(-5, 4)) == Uncertainty(-15, 12)
    assert Uncertainty(1, 3).negate() == Uncertainty(-3, -1)
    assert Uncertainty(1, 3).add(2) == Uncertainty(3, 5)
    assert Uncertainty(1, 3).subtract(Uncertainty(1, 3)) == Uncertainty(-2, 2)
    assert Uncertainty(1, 3).multiply(0) == 0  # collapses to a point


def test_uncertainty_comparisons_match_the_conformance_suite() -> None:
    u = C(2005).duration_between(C(2006, 7), "months")
    assert isinstance(u, Uncertainty)
    assert u.greater(5) is True  # DateTimeDurationBetweenMonthUncertain
    assert u.greater(25) is False  # ...Uncertain3
    assert u.less(24) is True  # ...Uncertain4
    assert u.equal(24) is False  # ...Uncertain5
    assert u.greater_or_equal(5) is True  # ...Uncertain6
    assert u.less_or_equal(24) is True  # ...Uncertain7
    v = C(2005).duration_between(C(2006, 2), "months")
    assert isinstance(v, Uncertainty)
    assert v.greater(5) is None  # ...Uncertain2


def test_uncertainty_comparison_rules_from_the_spec() -> None:
    assert Uncertainty(1, 10).equal(Uncertainty(1, 10)) is None
    assert Uncertainty(1, 10).equal(Uncertainty(21, 30)) is False
    assert Uncertainty.lift(2).equal(2) is True
    assert Uncertainty(30, 40).less(Uncertainty(50, 60)) is True
    assert Uncertainty(30, 40).less(Uncertainty(35, 45)) is None
    assert Uncertainty(30, 40).less(Uncertainty(20, 30)) is False
    assert Uncertainty(30, 40).less_or_equal(Uncertainty(40, 50)) is True
    assert Uncertainty(30, 40).compare(Uncertainty(40, 50)) is None
    assert Uncertainty(30, 40).compare(Uncertainty(41, 50)) == -1
    assert Uncertainty(30, 40).compare(29) == 1
    # spec: days between Date(2014, 1, 15) and Date(2014, 2) > 2 / > 50 / > 20
    days = Date(2014, 1, 15).duration_between(Date(2014, 2), "days")
    assert isinstance(days, Uncertainty)
    assert (days.greater(2), days.greater(50), days.greater(20)) == (True, False, None)


def test_uncertainty_value_semantics() -> None:
    assert Uncertainty.of(3, 3) == 3
    assert Uncertainty.of(5, 3) == Uncertainty(3, 5)
    assert Uncertainty(4, 16).to_cql() == "Interval[4, 16]"
    assert hash(Uncertainty(1, 2)) == hash(Uncertainty(1, 2))
    assert Uncertainty(1, 2).contains(2) and not Uncertainty(1, 2).contains(3)
    with pytest.raises(ValueError):
        Uncertainty(3, 1)
    with pytest.raises(AttributeError):
        Uncertainty(1, 2).low = 0  # type: ignore[misc]


# -- offsets and Python interop ------------------------------------------------------------


def test_with_offset_keeps_the_instant() -> None:
    v = lit("@2012-03-10T10:20:00.999+07:00")
    moved = v.with_offset(Decimal(-5))
    assert moved.to_cql() == "@2012-03-09T22:20:00.999-05:00"
    assert moved.equal(v) is True
    assert lit("@2012-03-10T10:20+05:30").with_offset(0).to_cql() == "@2012-03-10T04:50+00:00"
    # Too coarse to move: only the offset changes.
    assert lit("@2012-03-10T+07:00").with_offset(1).to_cql() == "@2012-03-10T+01:00"
    assert lit("@2012-03-10T10:20").with_offset(1).to_cql() == "@2012-03-10T10:20+01:00"
    with pytest.raises(CqlRuntimeError):
        DateTime.max_value().with_offset(5)


def test_now_from() -> None:
    moment = dt.datetime(
        2024, 3, 5, 14, 7, 9, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))
    )
    now = now_from(moment)
    assert now.to_cql() == "@2024-03-05T14:07:09.123-05:30"
    assert now.tz_offset == Decimal("-5.5")
    assert now.equal(now_from(moment)) is True  # DateTimeNow
    assert now.date() == Date(2024, 3, 5)
    assert now.time() == Time(14, 7, 9, 123)
    assert now_from(dt.datetime(2024, 3, 5, 14, 7)).tz_offset is None
    assert now_from(moment.astimezone(dt.UTC)).tz_offset == 0


def test_to_python() -> None:
    assert to_python(Date(2024, 3, 5)) == dt.date(2024, 3, 5)
    assert to_python(Date(2024, 3)) is None
    assert to_python(lit("@2024-03-05T14:07:09.123-05:00")) == dt.datetime(
        2024, 3, 5, 14, 7, 9, 123000, tzinfo=dt.timezone(dt.timedelta(hours=-5))
    )
    assert to_python(lit("@2024-03-05T")) == dt.datetime(2024, 3, 5)
    assert to_python(lit("@2024T")) is None
    assert to_python(lit("@T14:07")) == dt.time(14, 7)
    assert to_python(lit("@T23:59:59.999")) == dt.time(23, 59, 59, 999000)


@pytest.mark.parametrize("literal", ["@2024-01-02", "@2024-01-02T10:00:00.0+01:00", "@2024-01-02T10", "@T10:00",
                                     "Interval[@2024-01-01, @2024-02-01]"])
def test_temporal_values_pickle(literal: str) -> None:
    """A Date/DateTime/Time crosses to worker processes, Dask and Spark (issue 12): before, pickling
    raised "Date is immutable" from the slot-by-slot restore."""
    import pickle

    from pedqm.cql import evaluate as cql_evaluate

    value = cql_evaluate(literal)
    assert pickle.loads(pickle.dumps(value)) == value
