"""The report's index.html page."""
from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from ..input.survey import Problem
from ..output_folder import GENERATOR
from .specs import ReportFigure, SAMPLE_BANNER


# --- the page --------------------------------------------------------------------------

_STYLE = """
body { font-family: "Hiragino Sans", "Yu Gothic", "Meiryo", "IPAexGothic", sans-serif;
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; line-height: 1.6; }
figure { margin: 2.5rem 0; padding-top: 1rem; border-top: 1px solid #ccc; }
img { max-width: 100%; height: auto; }
figcaption h2 { font-size: 1.1rem; margin: 0.5rem 0; }
.files { font-size: 0.9rem; }
.note { background: #fff4e0; padding: 0.5rem 1rem; border-left: 4px solid #E69F00; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _link(path: Path, label: str) -> str:
    return f'<a href="{_e(path.as_posix())}">{_e(label)}</a>'


def render_index(
    figures: Sequence[ReportFigure],
    *,
    title: str,
    sources: Sequence[str],
    counts: str,
    notes: Sequence[str],
    problems: Sequence[Problem],
    extra_tables: Sequence[tuple[str, list[Path]]],
    invented: bool = False,
    document: str | None = None,
) -> str:
    """Return the self-contained Japanese index page (relative links only); ``invented`` marks sample data at the top."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="ja">',
        '<head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="{GENERATOR}">',
        f"<title>{_e(title)}</title>",
        f"<style>{_STYLE}</style></head>",
        "<body>",
        *([f'<p class="note"><strong>{SAMPLE_BANNER}</strong>（同梱の架空のサンプルだけから作りました。'
           "本番の集計ではありません）</p>"] if invented else []),
        f"<h1>{_e(title)}</h1>",
        f"<p>{_e(counts)}</p>",
        "<p>読み込んだファイル: " + "、".join(_e(s) for s in sources) + "</p>",
        *([f'<p>報告書の章「アンケート結果」の下書き（Word）: <a href="{_e(document)}">{_e(document)}</a></p>']
          if document else []),
    ]
    if problems:
        parts.append('<div class="note"><p>入力データに問題があります（図表はそのまま作成しています）:</p><ul>')
        parts += [f"<li>{_e(p)}</li>" for p in problems]
        parts.append("</ul></div>")
    if notes:
        parts.append('<div class="note"><ul>' + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul></div>")
    parts.append("<h2>目次</h2><ol>")
    parts += [f'<li><a href="#{_e(f.name)}">{_e(f.title)}</a></li>' for f in figures]
    parts.append("</ol>")
    for fig in figures:
        png = next((p for p in fig.files if p.suffix == ".png"), fig.files[0])
        downloads = " ".join(_link(p, p.suffix[1:].upper()) for p in fig.files)
        tables = " ".join(_link(p, p.name) for p in fig.tables)
        parts += [
            f'<figure id="{_e(fig.name)}">',
            f'<a href="{_e(png.as_posix())}"><img src="{_e(png.as_posix())}" alt="{_e(fig.title)}" loading="lazy"></a>',
            f"<figcaption><h2>{_e(fig.title)}</h2><p>{_e(fig.caption)}</p>",
            "<ul>" + "".join(f"<li>{_e(k)}</li>" for k in fig.key_numbers) + "</ul>",
            f'<p class="files">図: {downloads}' + (f"／表: {tables}" if tables else "") + "</p>",
            "</figcaption></figure>",
        ]
    if extra_tables:
        parts.append("<h2>そのほかの表</h2><ul>")
        for label, paths in extra_tables:
            parts.append(f"<li>{_e(label)}: " + " ".join(_link(p, p.name) for p in paths) + "</li>")
        parts.append("</ul>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
