"""Reading tables (CSV/TSV in UTF-8 or GBK, Excel, Stata, Parquet) with helpful errors."""

from __future__ import annotations

import codecs
import difflib
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from didstudy.errors import DataError

__all__ = ["SUPPORTED_EXTENSIONS", "read_table", "require_columns", "suggest_columns"]

_TEXT_SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": None}
_EXCEL = {".xlsx", ".xlsm"}
_STATA = {".dta"}
_PARQUET = {".parquet", ".pq"}
SUPPORTED_EXTENSIONS: tuple[str, ...] = (
    *sorted(_TEXT_SEPARATORS),
    *sorted(_EXCEL),
    *sorted(_STATA),
    *sorted(_PARQUET),
)


def suggest_columns(name: str, available: Sequence[object], n: int = 3) -> list[str]:
    """Closest column names to ``name`` (case-insensitive and fuzzy, via :mod:`difflib`)."""
    labels = [str(c) for c in available]
    exact_ci = [c for c in labels if c.strip().lower() == name.strip().lower()]
    lower = {c.lower(): c for c in labels}
    fuzzy = [lower[c] for c in difflib.get_close_matches(name.lower(), list(lower), n, 0.6)]
    out: list[str] = []
    for c in exact_ci + fuzzy:
        if c not in out:
            out.append(c)
    return out[:n]


def require_columns(
    frame: pd.DataFrame, columns: Sequence[str], *, file: str | None = None, role: str = ""
) -> None:
    """Raise :class:`DataError` naming every missing column with the closest existing names."""
    present = {str(c) for c in frame.columns}
    missing = [c for c in columns if str(c) not in present]
    if not missing:
        return
    hints = []
    for c in missing:
        close = suggest_columns(str(c), list(frame.columns))
        hints.append(
            f"'{c}' -> did you mean {', '.join(repr(s) for s in close)}?"
            if close
            else f"'{c}' has no close match"
        )
    what = f"{role} column" if role else "column"
    shown = ", ".join(repr(str(c)) for c in list(frame.columns)[:30])
    more = f" ... ({frame.shape[1] - 30} more)" if frame.shape[1] > 30 else ""
    sheets = frame.attrs.get("sheets") or []
    if len(sheets) > 1:
        others = ", ".join(repr(s) for s in sheets if s != frame.attrs.get("sheet"))
        hints.append(
            f"this is sheet {frame.attrs.get('sheet')!r}; the workbook also has {others} "
            "(choose with --sheet / sheet=)"
        )
    raise DataError(
        f"{what}{'s' if len(missing) > 1 else ''} {', '.join(repr(c) for c in missing)} not "
        f"found. Available columns: {shown}{more}.",
        file=file,
        column=str(missing[0]),
        fix="; ".join(hints) + ". Check the spelling (case and spaces matter).",
    )


def _location(raw: bytes, err: UnicodeDecodeError) -> str:
    line = raw.count(b"\n", 0, err.start) + 1
    snippet = raw[max(err.start - 8, 0) : err.start + 8]
    return f"byte offset {err.start} (line {line}, bytes {snippet!r})"


def _detect_encoding(raw: bytes, encoding: str | None, file: str) -> str:
    """The encoding that decodes ``raw`` strictly (checked by decoding; the text is discarded)."""
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DataError(
                f"unknown encoding {encoding!r}.",
                file=file,
                fix="use a Python codec name such as 'utf-8', 'gb18030', 'gbk' or 'latin-1'.",
            ) from None
        try:
            raw.decode(encoding)
            return encoding
        except UnicodeDecodeError as err:
            raise DataError(
                f"cannot be decoded as {encoding!r} at {_location(raw, err)}.",
                file=file,
                fix="pass the file's real encoding (e.g. encoding='gb18030' for Chinese exports,"
                " 'utf-8', 'latin-1'), or re-save the file as UTF-8.",
            ) from None
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    if encoding is not None:
        try:
            raw.decode(encoding)
            return encoding
        except UnicodeDecodeError as err:
            raise DataError(
                f"starts with a {encoding} byte-order mark but cannot be decoded as {encoding} at "
                f"{_location(raw, err)}.",
                file=file,
                fix="re-save the file as UTF-8, or pass encoding= explicitly.",
            ) from None
    from didstudy.data.encoding import decide_encoding

    return decide_encoding(raw, file).encoding


# reader options that change which raw line is the header (for the duplicate-name check)
_HEADER_OPTIONS = (
    "sep",
    "delimiter",
    "engine",
    "skiprows",
    "comment",
    "quotechar",
    "skipinitialspace",
)


def _header_row(header: object) -> int | None:
    """Row of the raw header among the rows read, or None when there is no single header row."""
    if header == "infer":
        return 0
    if isinstance(header, int) and not isinstance(header, bool):
        return header
    return None


def _check_header(names: Sequence[object], file: str) -> None:
    labels = [str(c) for c in names]
    seen: dict[str, list[int]] = {}
    for pos, c in enumerate(labels, start=1):
        if c.strip():
            seen.setdefault(c, []).append(pos)
    dups = {c: pos for c, pos in seen.items() if len(pos) > 1}
    if dups:
        detail = "; ".join(f"'{c}' at positions {', '.join(map(str, p))}" for c, p in dups.items())
        raise DataError(
            f"duplicated column names: {detail}.",
            file=file,
            column=next(iter(dups)),
            fix="rename the columns in the file so that every name is unique.",
        )


def _read_text(
    path: Path, sep: str | None, encoding: str | None, kw: dict[str, Any]
) -> pd.DataFrame:
    file = str(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError("is empty.", file=file, fix="check that the export wrote any data.")
    used = _detect_encoding(raw, encoding, file)
    options: dict[str, Any] = {"sep": sep} if sep is not None else {"sep": None, "engine": "python"}
    text_columns: tuple[str, ...] = kw.pop("_text_columns", ())
    options.update(kw)
    if (
        isinstance(options.get("sep"), str)
        and len(options["sep"]) == 1
        and not (
            set(kw)
            & {"skiprows", "comment", "header", "quotechar", "engine", "skipfooter", "nrows"}
        )
    ):
        from didstudy.data.rows import check_field_counts

        lines: tuple[int, ...] | None = check_field_counts(raw.decode(used), options["sep"], file)
    else:
        lines = None
    del raw
    row = _header_row(options.get("header", "infer"))
    passed = {k: v for k, v in options.items() if k in _HEADER_OPTIONS}
    try:
        header = pd.read_csv(
            path, encoding=used, header=None, nrows=(row or 0) + 1, dtype=str, **passed
        )
    except pd.errors.EmptyDataError:
        raise DataError(
            "is empty.", file=file, fix="check that the export wrote any data."
        ) from None
    if row is not None and len(header) > row:
        _check_header([("" if pd.isna(v) else v) for v in header.iloc[row].tolist()], file)
    strict = "index_col" not in options
    options.setdefault("index_col", False)
    if text_columns and row is not None and len(header) > row:
        from didstudy.data.units import text_column_options

        names = [("" if pd.isna(v) else v) for v in header.iloc[row].tolist()]
        options.update(text_column_options(names, text_columns))
    try:
        with warnings.catch_warnings():
            if strict:
                warnings.simplefilter("error", pd.errors.ParserWarning)
            frame: pd.DataFrame = pd.read_csv(path, encoding=used, **options)
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError) as exc:
        raise DataError(
            f"cannot be parsed as a delimited table: {exc}",
            file=file,
            fix="check the separator (pass sep=...), skip title lines above the header "
            "(skiprows=2), and check that every row has as many fields as the header (a trailing "
            "separator adds an empty field).",
        ) from None
    frame = _whole_number_ids(frame, text_columns)
    frame.attrs["encoding"] = used
    if lines is not None and len(lines) == len(frame):
        frame.attrs["file_lines"] = lines  # file line of each data row, for messages
    return frame


def _whole_number_ids(frame: pd.DataFrame, text_columns: Sequence[str]) -> pd.DataFrame:
    from didstudy.data.units import whole_numbers

    for column in text_columns:
        if column in frame.columns:
            frame[column] = whole_numbers(frame[column])
    return frame


def _read_excel(path: Path, sheet: str | int | None, kw: dict[str, Any]) -> pd.DataFrame:
    from didstudy.data.excel import check_formulas, default_sheet, sheet_infos, sheet_listing

    file = str(path)
    infos = sheet_infos(path)
    sheets = [i.name for i in infos]
    listing = sheet_listing(infos)
    if sheet is None:
        name = default_sheet(path, infos)
    elif isinstance(sheet, int):
        if not -len(sheets) <= sheet < len(sheets):
            raise DataError(
                f"has {len(sheets)} sheet(s) ({listing}); sheet index {sheet} does not exist.",
                file=file,
                fix=f"pass sheet= (--sheet) as one of {listing} or an index 0..{len(sheets) - 1}.",
            )
        name = sheets[sheet]
    else:
        if sheet not in sheets:
            close = difflib.get_close_matches(sheet, sheets, 1, 0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise DataError(
                f"has no sheet {sheet!r}{hint}. Available sheets: {listing}.",
                file=file,
                fix=f"pass sheet= (--sheet) as one of {listing}.",
            )
        name = sheet
    row = _header_row(kw.get("header", 0))
    passed = {k: v for k, v in kw.items() if k in ("skiprows", "engine")}
    header = _excel_call(path, sheet_name=name, header=None, nrows=(row or 0) + 1, **passed)
    if header.empty:
        raise DataError(
            f"sheet {name!r} is empty.",
            file=file,
            fix=f"choose another sheet with sheet= (--sheet): {listing}.",
        )
    if row is not None and len(header) > row:
        _check_header([("" if pd.isna(v) else v) for v in header.iloc[row].tolist()], file)
    check_formulas(path, name)
    text_columns: tuple[str, ...] = kw.pop("_text_columns", ())
    if text_columns and row is not None and len(header) > row:
        from didstudy.data.units import text_column_options

        names = [("" if pd.isna(v) else v) for v in header.iloc[row].tolist()]
        kw = {**kw, **text_column_options(names, text_columns)}
        kw["dtype"] = {c: object for c in text_columns}
    frame = _whole_number_ids(_excel_call(path, sheet_name=name, **kw), text_columns)
    frame.attrs["sheet"] = name
    frame.attrs["sheets"] = sheets
    return frame


def _excel_call(path: Path, **kw: Any) -> pd.DataFrame:
    """``pandas.read_excel`` with a damaged workbook turned into a :class:`DataError`."""
    try:
        frame: pd.DataFrame = pd.read_excel(path, **kw)
        return frame
    except DataError:
        raise
    except Exception as exc:  # broken sheet XML raises ParseError (a SyntaxError), zip errors...
        raise DataError(
            f"cannot be read as an Excel workbook ({type(exc).__name__}: {exc})",
            file=str(path),
            fix="check that the file is a real, complete .xlsx (open and re-save it in Excel or "
            "LibreOffice).",
        ) from None


def _read_binary(
    reader: Callable[..., pd.DataFrame], path: Path, kw: dict[str, Any]
) -> pd.DataFrame:
    try:
        return reader(path, **kw)
    except Exception as exc:  # corrupt binary files raise anything (struct.error, ArrowInvalid)
        raise DataError(
            f"cannot be read as {path.suffix.lstrip('.')}: {type(exc).__name__}: {exc}",
            file=str(path),
            fix="check that the file is not corrupt or truncated and that its extension matches "
            "its content.",
        ) from None


def read_table(
    path: str | os.PathLike[str],
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    columns: Sequence[str] | None = None,
    text_columns: Sequence[str] = (),
    **kw: Any,
) -> pd.DataFrame:
    """Read a data table from CSV, TSV, Excel, Stata or Parquet.

    Parameters
    ----------
    path
        File path. The format follows the extension: ``.csv``; ``.tsv``/``.tab`` (tab
        separated); ``.txt`` (separator sniffed); ``.xlsx``/``.xlsm``; ``.dta``;
        ``.parquet``/``.pq``.
    sheet
        Excel only: sheet name or 0-based index (default: the first sheet).
    encoding
        Text files only. Default: decided by evidence (:mod:`didstudy.data.encoding`). A UTF-8
        byte-order mark (Excel's "CSV UTF-8") or a UTF-16 mark is honoured; otherwise strict
        UTF-8, then GBK/GB18030 (Chinese statistical exports) or cp1252/Latin-1 (Western text)
        when the bytes show it; a UTF-8 file with a few corrupt bytes, or bytes that fit no
        encoding clearly, are refused with ``encoding=`` as the fix. The encoding used is
        recorded in ``attrs["encoding"]``.
    columns
        Keep only these columns (in this order); missing names raise an error that suggests the
        closest existing names.
    text_columns
        CSV/TSV/Excel: columns kept exactly as written (identifiers): ``NA``, ``None``, ``null``
        stay names, only an empty cell is missing; a column of canonical whole numbers is still
        read as integers (:mod:`didstudy.data.units`).
    **kw
        Passed to the underlying pandas reader (:func:`pandas.read_csv`,
        :func:`pandas.read_excel`, :func:`pandas.read_stata`, :func:`pandas.read_parquet`).

    Returns
    -------
    pandas.DataFrame
        A new frame; ``attrs`` holds ``source`` (the path), ``format`` and, when applicable,
        ``encoding`` or ``sheet``.

    Raises
    ------
    DataError
        Missing file, unknown extension, undecodable bytes (with byte offset and line), empty
        file or sheet, duplicated column names, missing requested columns, unreadable content.

    Examples
    --------
    >>> import didstudy as ds
    >>> df = ds.read_table("cities.csv")  # doctest: +SKIP
    >>> df.attrs["encoding"]  # doctest: +SKIP
    'gbk'
    """
    p = Path(os.fspath(path))
    file = str(p)
    if not p.exists():
        raise DataError(
            "does not exist.",
            file=file,
            fix=f"check the path (relative paths start at {Path.cwd()}).",
        )
    if p.is_dir():
        raise DataError("is a directory, not a file.", file=file, fix="pass a file path.")
    ext = p.suffix.lower()
    options = dict(kw)
    if text_columns and (ext in _TEXT_SEPARATORS or ext in _EXCEL):
        options["_text_columns"] = tuple(text_columns)
    if sheet is not None and ext not in _EXCEL:
        raise DataError(
            f"sheet={sheet!r} was given, but only Excel workbooks have sheets (this is {ext!r}).",
            file=file,
            fix="drop the sheet argument, or point at the .xlsx workbook.",
        )
    if encoding is not None and ext not in _TEXT_SEPARATORS:
        raise DataError(
            f"encoding={encoding!r} was given, but only text files (csv, tsv, txt) are decoded "
            f"by didstudy (this is {ext!r}).",
            file=file,
            fix="drop the encoding argument (Excel, Stata and Parquet files record their own).",
        )
    fmt: str
    try:
        if ext in _TEXT_SEPARATORS:
            fmt = "tsv" if _TEXT_SEPARATORS[ext] == "\t" else ext.lstrip(".")
            frame = _read_text(p, _TEXT_SEPARATORS[ext], encoding, options)
        elif ext in _EXCEL:
            fmt = "excel"
            frame = _read_excel(p, sheet, options)
        elif ext in _STATA:
            fmt = "stata"
            frame = _read_binary(pd.read_stata, p, options)
        elif ext in _PARQUET:
            fmt = "parquet"
            frame = _read_binary(pd.read_parquet, p, options)
        elif ext == ".xls":
            raise DataError(
                "is a legacy Excel 97-2003 .xls workbook, which is not supported.",
                file=file,
                fix="open it in Excel/LibreOffice and save it as .xlsx (or as CSV UTF-8).",
            )
        else:
            raise DataError(
                f"has an unknown extension {ext or '(none)'!r}.",
                file=file,
                fix=f"use one of {', '.join(SUPPORTED_EXTENSIONS)} (rename the file if its "
                "content is one of these formats).",
            )
    except DataError:
        raise
    except (OSError, ValueError, KeyError, TypeError, ImportError) as exc:
        raise DataError(
            f"cannot be read as {ext.lstrip('.')}: {type(exc).__name__}: {exc}",
            file=file,
            fix="check that the file is not corrupt or truncated and that its extension matches "
            "its content.",
        ) from None
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise DataError(
            f"has no data rows (shape {frame.shape[0]} x {frame.shape[1]}).",
            file=file,
            fix="check that the export wrote any data, or choose another sheet.",
        )
    _check_header(list(frame.columns), file)
    if columns is not None:
        require_columns(frame, list(columns), file=file)
        frame = frame.loc[:, list(columns)]
    frame.attrs["source"] = file
    frame.attrs["format"] = fmt
    return frame
