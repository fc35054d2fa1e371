"""Constrained parameter types shared by builders, understood by the registry's checks.

Plain `annotated_types` metadata: no Keras, no pydantic in the builders themselves.
"""

from typing import Annotated

from annotated_types import Ge, Gt, Interval, Len

PositiveInt = Annotated[int, Gt(0)]
Rate = Annotated[float, Interval(ge=0.0, lt=1.0)]  # dropout and similar fractions
Scale = Annotated[float, Gt(0.0)]
Shape = Annotated[tuple[PositiveInt, ...], Len(min_length=1)]
Widths = Annotated[tuple[PositiveInt, ...], Len(min_length=1)]  # units or filters per layer
NonNegativeInt = Annotated[int, Ge(0)]
NonNegativeFloat = Annotated[float, Ge(0.0)]  # penalties such as an L2 factor
