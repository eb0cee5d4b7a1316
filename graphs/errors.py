"""Every error silkroute raises on purpose.

Each class also subclasses the built-in a caller would naturally catch (``KeyError`` for an
unknown place, ``ValueError`` for bad data), so plain ``except ValueError`` keeps working.
The CLI and the service map these classes to exit codes and HTTP status in one place each.
"""

from __future__ import annotations

from collections.abc import Sequence


class SilkrouteError(Exception):
    """Base class of every error raised on purpose by silkroute."""


class DataPackError(SilkrouteError, ValueError):
    """A network pack, shipments file or scenario that cannot be used as given.

    The message names the file, the line (1 = header) and the column where known.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.detail = message
        where = []
        if file:
            where.append(file)
        if line is not None:
            where.append(f"line {line}")
        if column:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class InputError(SilkrouteError, ValueError):
    """A request (shipment, cargo, option) that makes no sense; the message says which field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        self.detail = message
        super().__init__(f"{field}: {message}" if field else message)


class UnknownPlaceError(SilkrouteError, KeyError):
    """A place name that matches no node; carries the closest known places."""

    def __init__(self, query: str, suggestions: Sequence[str]) -> None:
        self.query = query
        self.suggestions = list(suggestions)
        super().__init__(query)

    def __reduce__(self) -> tuple[type[UnknownPlaceError], tuple[str, list[str]]]:
        return type(self), (self.query, self.suggestions)  # pickles whole, as across processes

    def __str__(self) -> str:
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        return f"unknown place '{self.query}'{hint}"


class AmbiguousPlaceError(UnknownPlaceError):
    """A place name that fits several cities; ``suggestions`` lists them with their countries."""

    def __reduce__(self) -> tuple[type[UnknownPlaceError], tuple[str, list[str]]]:
        return type(self), (self.query, self.suggestions)

    def __str__(self) -> str:
        return (
            f"'{self.query}' names several places: {'; '.join(self.suggestions)}; "
            "add the country ('City, CC') or give 'lat,lon'"
        )


class NoRouteError(SilkrouteError, LookupError):
    """No route satisfies the request; ``reason`` says which constraint or limit cut the way."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class InfeasiblePlanError(SilkrouteError, ValueError):
    """A plan request that cannot be solved at all (not: some shipments left unplanned)."""


class DataPackErrors(DataPackError):
    """Several problems found in one pass over one or more files (at most ``MAX_PROBLEMS``).

    ``errors`` lists them in file order; ``str()`` gives one line per problem. The first
    problem's file, line and column are this error's own.
    """

    MAX_PROBLEMS = 50

    def __init__(self, errors: Sequence[DataPackError], truncated: bool = False) -> None:
        self.errors = tuple(errors)
        self.truncated = truncated
        first = self.errors[0]
        super().__init__(first.detail, file=first.file, line=first.line, column=first.column)

    def __reduce__(self) -> tuple[type[DataPackErrors], tuple[tuple[DataPackError, ...], bool]]:
        return type(self), (self.errors, self.truncated)

    def lines(self) -> list[str]:
        """One self-contained line per problem (and a last one when the pass stopped early)."""
        found = [str(error) for error in self.errors]
        if self.truncated:
            found.append(f"stopped after {len(self.errors)} problems; fix these and run again")
        return found

    def __str__(self) -> str:
        return "\n".join(self.lines())
