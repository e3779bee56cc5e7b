"""The model card's pictures: the loss curve, the per-head score grids and attention patterns, as SVG."""

import html

import numpy as np


def svg_loss(log, unigram, path):
    W, H, L, R, Tp, Bm = 720, 360, 56, 150, 20, 40
    steps = np.array([r["step"] for r in log])
    toks = np.array([r["tokens"] for r in log]) / 1e6

    def smooth(y, k=25):
        y = np.asarray(y, float)
        c = np.cumsum(np.insert(y, 0, 0))
        out = np.empty_like(y)
        for i in range(len(y)):
            a = max(0, i - k + 1)
            out[i] = (c[i + 1] - c[a]) / (i + 1 - a)
        return out

    has_text = np.array([r["text_loss"] is not None for r in log])  # phase 1 has no text
    text = smooth([r["text_loss"] for r in log if r["text_loss"] is not None])
    rand = smooth([r["randrep_loss"] for r in log])
    vals = [(r["tokens"] / 1e6, r["val_loss"]) for r in log if "val_loss" in r]
    ymax, ymin = 11.0, 0.0
    xmax = toks[-1]
    X = lambda x: L + (W - L - R) * x / xmax  # noqa: E731
    Y = lambda y: Tp + (H - Tp - Bm) * (ymax - min(max(y, ymin), ymax)) / (ymax - ymin)  # noqa: E731
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
    ]
    for y in range(0, 12, 1):
        out.append(f'<line x1="{L}" x2="{W - R}" y1="{Y(y):.1f}" y2="{Y(y):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{L - 6}" y="{Y(y) + 4:.1f}" text-anchor="end">{y}</text>')
    for i in range(0, int(xmax) + 1):
        out.append(f'<text x="{X(i):.1f}" y="{H - Bm + 16}" text-anchor="middle">{i}M</text>')
    out.append(
        f'<text x="{(L + W - R) / 2}" y="{H - 6}" text-anchor="middle">training tokens ' f"({steps[-1]} steps)</text>"
    )
    out.append(
        f'<text transform="translate(14 {(Tp + H - Bm) / 2}) rotate(-90)" text-anchor="middle">'
        "loss (nats/token)</text>"
    )
    out.append(f'<line x1="{L}" x2="{L}" y1="{Tp}" y2="{H - Bm}" stroke="#333"/>')
    out.append(f'<line x1="{L}" x2="{W - R}" y1="{H - Bm}" y2="{H - Bm}" stroke="#333"/>')

    def poly(xs, ys, color, width=1.5, dash=""):
        pts = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in zip(xs, ys))
        return f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="{width}" {dash}/>'

    k = max(1, len(toks) // 400)
    out.append(poly(toks[has_text][::k], text[::k], "#1f77b4"))
    if not has_text[0] and has_text.any():  # the end of phase 1
        x1 = X(toks[np.argmax(has_text)])
        out.append(f'<line x1="{x1:.1f}" x2="{x1:.1f}" y1="{Tp}" y2="{H - Bm}" stroke="#999" stroke-dasharray="2 3"/>')
        out.append(f'<text x="{x1 + 4:.1f}" y="{H - Bm - 6}" font-size="11" fill="#555">phase 2: text</text>')
    out.append(poly(toks[::k], rand[::k], "#2ca02c"))
    if vals:
        out.append(poly([v[0] for v in vals], [v[1] for v in vals], "#d62728", 2))
        out += [f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="2.5" fill="#d62728"/>' for x, y in vals]
    out.append(poly([0, xmax], [unigram, unigram], "#7f7f7f", 1.2, 'stroke-dasharray="5 4"'))
    legend = [
        ("#1f77b4", "train: Brown text"),
        ("#2ca02c", "train: repeated random"),
        ("#d62728", "held-out (16 windows)"),
        ("#7f7f7f", "unigram, held-out"),
    ]
    for i, (c, label) in enumerate(legend):
        y = Tp + 14 + 18 * i
        out.append(
            f'<line x1="{W - R + 10}" x2="{W - R + 28}" y1="{y - 4}" y2="{y - 4}" stroke="{c}" ' 'stroke-width="2"/>'
        )
        out.append(f'<text x="{W - R + 32}" y="{y}" font-size="11">{label}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def color(v):
    """0..1 -> white..dark blue."""
    v = min(max(v, 0.0), 1.0)
    r, gg, b = (int(255 + (t - 255) * v) for t in (8, 48, 107))
    return f"rgb({r},{gg},{b})"


def svg_heads(maps, path):
    """maps: [(title, [L][H] scores)] -> side-by-side layer x head grids with the values written in."""
    c, pad, top = 34, 40, 36
    L, H = len(maps[0][1]), len(maps[0][1][0])
    w_one = pad + H * c + 20
    W, Ht = w_one * len(maps) + 10, top + L * c + 36
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{Ht}" viewBox="0 0 {W} {Ht}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{W}" height="{Ht}" fill="white"/>',
    ]
    for m, (title, s) in enumerate(maps):
        x0 = 10 + m * w_one
        out.append(
            f'<text x="{x0 + pad + H * c / 2}" y="16" text-anchor="middle" font-size="12" '
            f'font-weight="bold">{html.escape(title)}</text>'
        )
        for h in range(H):
            out.append(f'<text x="{x0 + pad + h * c + c / 2}" y="{top - 6}" text-anchor="middle">H{h}</text>')
        for layer in range(L):
            y = top + layer * c
            out.append(f'<text x="{x0 + pad - 6}" y="{y + c / 2 + 4}" text-anchor="end">L{layer}</text>')
            for h in range(H):
                v = s[layer][h]
                out.append(
                    f'<rect x="{x0 + pad + h * c}" y="{y}" width="{c - 2}" height="{c - 2}" ' f'fill="{color(v)}"/>'
                )
                out.append(
                    f'<text x="{x0 + pad + h * c + c / 2 - 1}" y="{y + c / 2 + 3}" text-anchor="middle" '
                    f'fill="{"white" if v > 0.55 else "black"}" font-size="10">{v:.2f}</text>'
                )
    out.append(
        f'<text x="10" y="{Ht - 10}" font-size="10">layer (row) x head (column); 0 = white, ' "1 = dark blue</text>"
    )
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def svg_patterns(panels, path):
    """panels: [(title, P [T, T])] -> attention heatmaps (query rows, key columns)."""
    cell, gap, top = 7, 30, 34
    T = panels[0][1].shape[0]
    side = T * cell
    W, Ht = len(panels) * (side + gap) + gap, top + side + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{Ht}" viewBox="0 0 {W} {Ht}" '
        'font-family="sans-serif" font-size="11" shape-rendering="crispEdges">',
        f'<rect width="{W}" height="{Ht}" fill="white"/>',
    ]
    for m, (title, P) in enumerate(panels):
        x0 = gap + m * (side + gap)
        out.append(
            f'<text x="{x0 + side / 2}" y="18" text-anchor="middle" font-size="12" font-weight="bold">'
            f"{html.escape(title)}</text>"
        )
        out.append(
            f'<rect x="{x0 - 0.5}" y="{top - 0.5}" width="{side + 1}" height="{side + 1}" fill="none" '
            'stroke="#999"/>'
        )
        for i in range(T):
            for j in range(i + 1):
                v = float(P[i, j])
                if v < 0.02:
                    continue
                out.append(
                    f'<rect x="{x0 + j * cell}" y="{top + i * cell}" width="{cell}" height="{cell}" '
                    f'fill="{color(v)}"/>'
                )
    out.append(
        f'<text x="{gap}" y="{Ht - 10}" font-size="10">rows: query position, columns: key position; '
        "sequence = [BOS] + R + R, R = 20 random tokens</text>"
    )
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


# --- the card ----------------------------------------------------------------------------------------------------
