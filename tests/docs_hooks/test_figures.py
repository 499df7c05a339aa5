"""Every image standing alone in its paragraph is a figure with a caption, however the page got it."""

from __future__ import annotations

from pathlib import Path

import markdown

from docs_hooks.figures import caption, captioned, on_page_content
from docs_hooks.results import embed


def test_an_image_alone_in_its_paragraph_is_captioned_with_its_alt_text() -> None:
    page = '<h2>Depth</h2>\n<p><img alt="test error against depth" src="depth.png" /></p>\n<p>After.</p>'
    assert captioned(page) == (
        '<h2>Depth</h2>\n<figure>\n<img alt="test error against depth" src="depth.png" />\n'
        "<figcaption>test error against depth</figcaption>\n</figure>\n<p>After.</p>"
    )


def test_a_title_is_the_caption_when_there_is_one() -> None:
    page = '<p><img alt="short" src="x.png" title="The longer caption" /></p>'
    assert "<figcaption>The longer caption</figcaption>" in captioned(page)
    assert 'title="The longer caption"' in captioned(page)  # the image is kept as it was written


def test_the_caption_is_text_escaped_once() -> None:
    img = '<img alt="the &quot;dog&quot; &amp; its heatmap &lt;CAM&gt;" src="dog.png" />'
    assert caption(img) == 'the "dog" & its heatmap <CAM>'
    assert '<figcaption>the "dog" &amp; its heatmap &lt;CAM&gt;</figcaption>' in captioned(f"<p>{img}</p>")


def test_images_in_a_sentence_or_without_a_caption_are_left_alone() -> None:
    page = '<p>Text <img alt="inline" src="y.png" /> here.</p>\n<p><img alt="" src="z.png" /></p>'
    assert captioned(page) == page
    linked = '<p><a href="big.png"><img alt="small" src="small.png" /></a></p>'
    assert captioned(linked) == linked


def test_every_image_of_a_page_and_the_diagrams_are_captioned() -> None:
    page = markdown.markdown(
        "Intro.\n\n![plain34 beside resnet34, drawn from their specs](../diagrams/plain-and-residual-34.svg)\n\n"
        '![first](a.png "First figure")\n\n![second](b.png)\n'
    )
    out = on_page_content(page, page=None, config=None, files=None)
    assert out.count("<figure>") == 3 and "<p><img" not in out
    assert 'src="../diagrams/plain-and-residual-34.svg" />\n<figcaption>plain34 beside resnet34' in out
    assert "<figcaption>First figure</figcaption>" in out and "<figcaption>second</figcaption>" in out


def test_an_embedded_experiment_summary_has_its_figures_captioned(tmp_path: Path) -> None:
    folder = tmp_path / "docs" / "results" / "landscape-x"
    folder.mkdir(parents=True)
    (folder / "summary.md").write_text(
        "# Landscape\n\n- budget: **smoke**\n\n![training-loss contours, same levels](landscape.png)\n\n| a |\n|---|\n"
    )
    page = markdown.markdown(embed(folder, "experiments/landscape.md", tmp_path / "docs"), extensions=["tables"])
    assert (
        '<figure>\n<img alt="training-loss contours, same levels" src="../results/landscape-x/landscape.png" />\n'
        "<figcaption>training-loss contours, same levels</figcaption>\n</figure>"
    ) in captioned(page)
