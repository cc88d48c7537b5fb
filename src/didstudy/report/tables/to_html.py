"""HTML renderer: a semantic ``<table>`` (caption, thead, tbody, tfoot), everything escaped."""

from __future__ import annotations

from html import escape

from didstudy.report.tables.model import NOTEBOOK_RENDERERS, Row, Table

__all__ = ["TABLE_CSS", "table_to_html", "table_to_html_document"]

TABLE_CSS = """
table.didstudy-table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums;
  border-top: 2px solid #000; border-bottom: 2px solid #000; }
table.didstudy-table caption { caption-side: top; font-weight: bold; padding: 0.4em 0;
  text-align: center; }
table.didstudy-table th, table.didstudy-table td { padding: 0.15em 0.8em; white-space: nowrap; }
table.didstudy-table thead th { font-weight: normal; text-align: center; }
table.didstudy-table thead tr:last-child th { border-bottom: 1px solid #000; }
table.didstudy-table thead th.group { border-bottom: 1px solid #000; }
table.didstudy-table tbody th { font-weight: normal; text-align: left; }
table.didstudy-table td { text-align: center; }
table.didstudy-table .align-left { text-align: left; }
table.didstudy-table .align-right { text-align: right; }
table.didstudy-table tr.rule-above > * { border-top: 1px solid #000; }
table.didstudy-table tfoot td { font-size: 0.85em; text-align: left; white-space: normal;
  padding-top: 0.4em; }
""".strip()


def _attrs(classes: list[str], colspan: int) -> str:
    out = f' class="{" ".join(classes)}"' if classes else ""
    if colspan > 1:
        out += f' colspan="{colspan}"'
    return out


def _header_row(row: Row) -> str:
    cells = []
    for col, cell in row.positions():
        classes = []
        if col == 0:
            classes.append("stub")
        elif cell.text and row.kind == "group":
            classes.append("group")
        if cell.align != "center" and col > 0:
            classes.append(f"align-{cell.align}")
        scope = ' scope="colgroup"' if cell.colspan > 1 else ' scope="col"'
        cells.append(f"<th{_attrs(classes, cell.colspan)}{scope}>{escape(cell.text)}</th>")
    return "<tr>" + "".join(cells) + "</tr>"


def _body_row(row: Row) -> str:
    classes = [row.kind] + (["rule-above"] if row.rule_above else [])
    cells = []
    for col, cell in row.positions():
        align = [f"align-{cell.align}"] if cell.align != ("left" if col == 0 else "center") else []
        if col == 0:
            cells.append(f'<th{_attrs(align, cell.colspan)} scope="row">{escape(cell.text)}</th>')
        else:
            cells.append(f"<td{_attrs(align, cell.colspan)}>{escape(cell.text)}</td>")
    return f'<tr class="{" ".join(classes)}">' + "".join(cells) + "</tr>"


def table_to_html(table: Table, table_id: str | None = None) -> str:
    """An HTML fragment ``<table class="didstudy-table">`` for embedding (see :data:`TABLE_CSS`)."""
    ident = escape(table_id if table_id is not None else f"table-{table.name}")
    lines = [
        f'<table class="didstudy-table" id="{ident}" lang="{escape(table.lang)}">',
        f"<caption>{escape(table.title)}</caption>",
        "<thead>",
    ]
    lines += [_header_row(r) for r in table.header]
    lines += ["</thead>", "<tbody>"]
    lines += [_body_row(r) for r in table.body]
    lines.append("</tbody>")
    if table.notes:
        lines.append("<tfoot>")
        lines += [
            f'<tr><td colspan="{table.n_cols}" class="note">{escape(note)}</td></tr>'
            for note in table.notes
        ]
        lines.append("</tfoot>")
    lines.append("</table>")
    return "\n".join(lines) + "\n"


def table_to_html_document(table: Table) -> str:
    """A standalone UTF-8 HTML page holding the table and its CSS (no external resources)."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{escape(table.lang)}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(table.title)}</title>\n<style>\n{TABLE_CSS}\n</style>\n</head>\n"
        f"<body>\n{table_to_html(table)}</body>\n</html>\n"
    )


def _notebook_html(table: Table) -> str:
    """The HTML fragment with its style sheet (``Table._repr_html_`` in Jupyter)."""
    return f"<style>{TABLE_CSS}</style>" + table_to_html(table)


NOTEBOOK_RENDERERS["html"] = _notebook_html
