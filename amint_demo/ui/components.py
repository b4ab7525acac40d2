"""Components tuned for untrusted uploads: files reach the library's decoder untouched, and links are refused.

Gradio accepts a URL in place of an uploaded file and downloads it on the server, reading the whole body into
memory regardless of `max_file_size`; these components refuse any URL instead. (Gradio finds a template
component's front end from its first base class, so the hooks are bound explicitly rather than mixed in.)"""
from __future__ import annotations

import gradio as gr
from gradio.blocks import Block

LINK_REFUSED = "images must be uploaded from your device; links are not fetched"


def _is_link(value) -> bool:
    return value is not None and str(value).strip().lower().startswith(("http://", "https://", "//"))


async def _async_move_refusing_links(self, url_or_file_path):
    """Gradio's hook for every input file: a link is an error, never a download."""
    if _is_link(url_or_file_path):
        raise gr.Error(LINK_REFUSED, print_exception=False)
    return await Block.async_move_resource_to_block_cache(self, url_or_file_path)


def _move_refusing_links(self, url_or_file_path):
    if _is_link(url_or_file_path):
        raise gr.Error(LINK_REFUSED, print_exception=False)
    return Block.move_resource_to_block_cache(self, url_or_file_path)


class UploadedImage(gr.Image):
    """An image input whose upload reaches the library's decoder (`load_image`) untouched, as a file path:
    bad files then get the library's one-line reason (not an image, truncated, too many pixels, ...) instead
    of failing inside the component; a link is refused. Same front end as gr.Image (a template component)."""

    is_template = True
    async_move_resource_to_block_cache = _async_move_refusing_links
    move_resource_to_block_cache = _move_refusing_links

    def preprocess(self, payload) -> str | None:  # payload: gradio.data_classes.ImageData | None
        return None if payload is None else payload.path


class UploadedFiles(gr.File):
    """A multiple-file input that refuses links. Same front end as gr.File."""

    is_template = True
    async_move_resource_to_block_cache = _async_move_refusing_links
    move_resource_to_block_cache = _move_refusing_links
