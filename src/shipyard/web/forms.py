"""Form field types of the console; NUL characters never reach a service or the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form

from shipyard.validation import NO_NUL

ShortText = Annotated[str, Form(max_length=64, pattern=NO_NUL)]
LongText = Annotated[str, Form(max_length=1024, pattern=NO_NUL)]
