"""The web UI: a Gradio chat over ``rag.api.Rag`` in which every citation opens its source.

A thin shell like the command line: it validates input, calls the core and formats the result
(HTML from ``rag.shells.web.render``). Offline and private by default: binds 127.0.0.1, no share link,
no analytics (forced off by ``import rag``), no CDN. Builds the store from the configured
corpus on first start when it is empty.

    python app.py [--host 127.0.0.1] [--port 7860] [--store DIR] [--config rag.toml]

Environment: RAG_HOST, RAG_PORT, RAG_STORE, RAG_CONFIG. The API endpoint ``/ask`` (see
"Use via API" in the page footer) returns the JSON text ``rag ask --json`` prints:

    json.loads(gradio_client.Client("http://127.0.0.1:7860/").predict("Who?", api_name="/ask"))
"""

import argparse
import os
import sys
import threading
from collections.abc import Callable, Sequence

from rag.shells.web import page as ui_page, render as ui_render
from rag.config import load_settings
from rag.errors import ConfigError, RagError
from rag.api import Rag
from rag.shells.terminal import EXIT_OK, run_guarded, user_message
from rag.types import IngestReport
from rag.shells.web.chat import (  # noqa: F401  (the chat's parts, used below and by tests as app.*)
    ChatTurn,
    answerer_names,
    api_ask,
    ask_turn,
    choose_answerer,
    document_choices,
    open_source,
    render_chat,
    uploaded_ids,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
UPLOAD_TYPES = (".txt", ".md", ".html", ".htm", ".docx", ".pdf")
ASK_CONCURRENCY = 4
EXAMPLES = (
    "What did Pistorius warn about?",
    "Who is Boris Pistorius?",
    "What does Article 5 of the North Atlantic Treaty say?",
    "What security guarantees does Ukraine want?",
)

Progress = Callable[[int, int, str], None]


# ---- start-up --------------------------------------------------------------------------------


def _env_port(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_PORT
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"RAG_PORT={value!r} is not a number; set a port such as 7860") from None


def parse_args(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> argparse.Namespace:
    """Flags override RAG_HOST/RAG_PORT; the store comes from --store, else RAG_STORE, else rag.toml."""
    env = os.environ if environ is None else environ
    parser = _Parser(prog="app.py", description="Web UI: chat with the documents, every answer cited and verified.")
    parser.add_argument("--host", default=env.get("RAG_HOST") or DEFAULT_HOST, help="address to bind (default 127.0.0.1 or $RAG_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port (default 7860 or $RAG_PORT)")
    parser.add_argument("--store", help="store folder (default .rag-store or $RAG_STORE)")
    parser.add_argument("--store-url", help="Chroma server URL, e.g. http://127.0.0.1:8000 ($RAG_STORE_URL)")
    parser.add_argument("--config", help="settings file (default ./rag.toml or $RAG_CONFIG)")
    args = parser.parse_args(argv)
    if args.port is None:
        args.port = _env_port(env.get("RAG_PORT"))
    if not 0 < args.port < 65536:
        raise ConfigError(f"port {args.port} is out of range; use 1-65535")
    return args


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like the CLI
        raise ConfigError(f"{message}; see: {self.prog} --help")


def ensure_index(rag: Rag, log=None) -> IngestReport | None:
    """Ingest the configured corpus when the store is empty; returns what was done (or None)."""
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    if not rag.is_empty():
        return None
    corpus = list(rag.settings.corpus)
    log(f"rag-app: the store {rag.settings.store_dir} is empty; indexing {', '.join(corpus)} (first start only)")

    def progress(done: int, total: int, path: str) -> None:
        if path:
            log(f"rag-app: indexing {done + 1}/{total} {os.path.basename(path)}")

    report = rag.ingest(corpus, progress=progress)
    for skipped in report.skipped:
        log(f"rag-app: skipped {skipped.path}: {skipped.reason}")
    log(
        f"rag-app: indexed {report.documents} documents, {report.sentences} sentences, "
        f"{report.chunks} chunks in {report.seconds:.0f} s"
    )
    return report


def warm_up(rag: Rag) -> None:
    """Load the embedding model and the lexical index before the first user asks (in a thread).

    Uses the extractive answerer so that a configured LLM is not run at start-up.
    """
    try:
        rag.warm_up()
    except RagError:
        pass
    except Exception as exc:
        user_message(exc)


# ---- the Gradio app --------------------------------------------------------------------------


def build_ui(rag: Rag):
    """The Gradio Blocks app over ``rag`` (not launched)."""
    import gradio as gr

    settings = rag.settings

    def on_ask(question: str, answerer_name: str, max_sources: int, chosen: list[str] | None, turns: list[ChatTurn]):
        if not question or not question.strip():
            yield gr.skip(), gr.skip(), gr.skip()
            return
        yield render_chat(turns, max_sources, pending=question.strip()), "", turns
        updated = ask_turn(rag, turns, question, answerer_name, chosen or ())
        yield render_chat(updated, max_sources), "", updated

    def on_example(answerer_name: str, max_sources: int, chosen: list[str] | None, turns: list[ChatTurn], evt: gr.SelectData):
        text = evt.value.get("text", "") if isinstance(evt.value, dict) else str(evt.value)
        yield from on_ask(text, answerer_name, max_sources, chosen, turns)

    def on_rerender(turns: list[ChatTurn], max_sources: int):
        return render_chat(turns, max_sources)

    def on_answerer(name: str) -> str:
        try:
            choose_answerer(rag, name)
        except Exception as exc:
            return ui_render.render_status(user_message(exc), bad=True)
        return ""

    def on_clear():
        return [], [], ui_render.render_panel_empty(), ""

    def on_cite(turns: list[ChatTurn], evt: gr.EventData):
        try:
            return open_source(rag, turns, str(evt.kind), int(evt.turn), int(evt.index))
        except Exception as exc:
            return ui_render.render_panel_message(user_message(exc))

    def on_corpus(note: str = "", chosen: list[str] | None = None):
        """The corpus tab and the document picker (``chosen``: select these; None: keep the choice)."""
        try:
            sources = rag.sources()
        except Exception as exc:
            return note + ui_render.render_status(user_message(exc), bad=True), gr.skip(), gr.skip(), gr.skip()
        missing = any(s.missing for s in sources)
        picker = gr.update(choices=document_choices(sources)) if chosen is None else gr.update(
            choices=document_choices(sources), value=chosen
        )
        return (
            note + ui_render.render_corpus_summary(sources),
            ui_render.source_rows(sources),
            gr.update(visible=missing),
            picker,
        )

    def on_prune():
        try:
            removed = rag.prune_missing()
            note = ui_render.render_status(f"Removed {len(removed)} document(s) whose files are gone.")
        except Exception as exc:
            note = ui_render.render_status(user_message(exc), bad=True)
        return on_corpus(note)

    def on_upload(paths: list[str] | None, progress=gr.Progress()):
        if not paths:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), None

        def report_progress(done: int, total: int, path: str) -> None:
            name = os.path.basename(path) if path else "done"
            progress((done, total), desc=f"Indexing {name}", unit="files")

        chosen = None
        try:
            report = rag.ingest_uploads(paths, report_progress)
            note = ui_render.render_ingest_report(report)
            chosen = uploaded_ids(rag.sources(), report) or None  # "ask this file"
        except Exception as exc:
            note = ui_render.render_status(user_message(exc), bad=True)
        return (*on_corpus(note, chosen), None)

    def ask(question: str, documents: list[str] | None = None) -> str:
        """Answer one question from the indexed documents (only from ``documents`` when given:
        file names, titles, ids or globs); returns the JSON text of `rag ask --json`."""
        try:
            return api_ask(rag, question, documents)
        except Exception as exc:
            raise gr.Error(user_message(exc), print_exception=False) from None

    private = {"api_visibility": "private"}
    asking = {"concurrency_limit": ASK_CONCURRENCY, "concurrency_id": "ask", **private}
    # Gradio's copies of uploads are deleted after an hour (the index keeps its own copy).
    with gr.Blocks(title="rag: answers with verified citations", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        turns = gr.State([])
        gr.HTML(
            '<div class="rag-header"><h1>Ask the documents</h1>'
            "<p>Every answer sentence cites the exact source sentence it rests on; "
            "click a citation to read it highlighted in its document.</p></div>",
            padding=False,
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=420):
                        picker = gr.Dropdown(
                            choices=[],
                            value=[],
                            multiselect=True,
                            label="Ask within",
                            info="the documents this chat searches; none chosen: all of them",
                            elem_id="rag-documents",
                        )
                        chatbot = gr.Chatbot(
                            label="Conversation",
                            show_label=False,
                            elem_id="rag-chat",
                            height="calc(100vh - 380px)",
                            min_height=280,
                            render_markdown=False,
                            latex_delimiters=[],
                            sanitize_html=True,
                            buttons=["copy_all"],
                            feedback_options=None,
                            placeholder="Ask about the indexed documents, or start with an example:",
                            examples=[{"text": text} for text in EXAMPLES],
                        )
                        with gr.Row(equal_height=True, elem_id="rag-ask-row"):
                            question = gr.Textbox(
                                show_label=False,
                                placeholder="Ask a question about the documents…",
                                elem_id="rag-question",
                                scale=6,
                                max_lines=4,
                                autofocus=True,
                                container=False,
                            )
                            ask_button = gr.Button("Ask", variant="primary", size="md", elem_id="rag-ask", scale=0, min_width=80)
                            clear_button = gr.Button("Clear chat", size="md", elem_id="rag-clear", scale=0, min_width=110)
                        with gr.Accordion("Settings", open=False, elem_id="rag-settings"):
                            with gr.Row():
                                answerer = gr.Dropdown(
                                    choices=list(answerer_names()),
                                    value=settings.answerer,
                                    label="Answerer",
                                    elem_id="rag-answerer",
                                )
                                max_sources = gr.Slider(
                                    1, 10, value=settings.max_sources, step=1, label="Sources shown",
                                    info="cited sentences or closest evidence listed per answer",
                                    elem_id="rag-max-sources",
                                )
                            answerer_note = gr.HTML("")
                    with gr.Column(scale=2, min_width=340):
                        panel = gr.HTML(
                            ui_render.render_panel_empty(),
                            js_on_load=ui_render.PANEL_JS,
                            elem_id="rag-panel",
                            container=True,
                            padding=True,
                        )
            with gr.Tab("Corpus", id="corpus") as corpus_tab:
                files = gr.File(
                    label="Add files to the index (.txt .md .html .docx .pdf)",
                    file_count="multiple",
                    file_types=list(UPLOAD_TYPES),
                    type="filepath",
                    height=110,
                    elem_id="rag-upload",
                )
                corpus_info = gr.HTML(elem_id="rag-corpus-info")
                prune_button = gr.Button(
                    "Remove documents whose files are gone", variant="stop", size="sm", visible=False, elem_id="rag-prune"
                )
                table = gr.Dataframe(
                    headers=["Title", "Sentences", "Chunks", "File"],
                    datatype=["str", "number", "number", "str"],
                    interactive=False,
                    wrap=True,
                    max_height=440,
                    column_widths=["56%", "11%", "9%", "24%"],
                    elem_id="rag-sources",
                )
        bridge = gr.HTML("", html_template="<span></span>", js_on_load=ui_render.BRIDGE_JS, elem_id="rag-bridge")

        ask_outputs = [chatbot, question, turns]
        gr.on([question.submit, ask_button.click], on_ask, [question, answerer, max_sources, picker, turns], ask_outputs, **asking)
        chatbot.example_select(on_example, [answerer, max_sources, picker, turns], ask_outputs, **asking)
        max_sources.change(on_rerender, [turns, max_sources], chatbot, **private)
        answerer.change(on_answerer, answerer, answerer_note, **private)
        clear_button.click(on_clear, None, [chatbot, turns, panel, question], **private)
        chatbot.clear(on_clear, None, [chatbot, turns, panel, question], **private)
        bridge.cite(on_cite, turns, panel, **private)
        corpus_outputs = [corpus_info, table, prune_button, picker]
        demo.load(on_corpus, None, corpus_outputs, **private)
        corpus_tab.select(on_corpus, None, corpus_outputs, **private)
        prune_button.click(on_prune, None, corpus_outputs, concurrency_limit=1, concurrency_id="ingest", **private)
        files.upload(
            on_upload, files, [*corpus_outputs, files], show_progress_on=files,
            concurrency_limit=1, concurrency_id="ingest", **private,
        )
        gr.api(ask, api_name="ask", concurrency_limit=ASK_CONCURRENCY, concurrency_id="ask")
    return demo


def launch(demo, rag: Rag, host: str, port: int, block: bool = True) -> None:
    """Serve the app (blocks unless ``block`` is false): queue on, no share link, no CDN,
    uploads capped like ingest, only requests addressed to loopback or ``host`` answered."""
    from starlette.middleware import Middleware

    from rag.shells.web.trusted_hosts import TrustedHostMiddleware, allowed_hosts

    hosts = allowed_hosts(host)
    demo.queue(default_concurrency_limit=ASK_CONCURRENCY)
    demo.launch(
        prevent_thread_lock=True,
        # Inside Gradio's own middleware from the first request; outside it (below) once started.
        app_kwargs={"middleware": [Middleware(TrustedHostMiddleware, hosts=hosts)]},
        server_name=host,
        server_port=port,
        share=False,
        inbrowser=False,
        show_error=False,
        quiet=True,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        footer_links=["api", "settings"],
        max_file_size=rag.settings.max_file_bytes,
        css=ui_render.CSS + ui_page.PAGE_CSS,
    )
    outside_cors(demo.server_app, hosts)
    if block:
        demo.block_thread()


def outside_cors(server_app, hosts) -> None:
    """Put the Host check outside every middleware of the running app: Gradio adds its CORS
    middleware outermost, which answers a preflight itself and sets Access-Control-Allow-Origin
    on whatever comes back, a refusal included."""
    from rag.shells.web.trusted_hosts import TrustedHostMiddleware

    inner = server_app.middleware_stack or server_app.build_middleware_stack()
    server_app.middleware_stack = TrustedHostMiddleware(inner, hosts)


def serve(argv: Sequence[str] | None = None) -> int:
    """Open the store (building it if empty), then serve the UI until interrupted."""
    args = parse_args(argv)
    rag = Rag(load_settings(args.config, store_dir=args.store, store_url=args.store_url), create_store=True)
    ensure_index(rag)
    demo = build_ui(rag)
    threading.Thread(target=warm_up, args=(rag,), name="rag-warm-up", daemon=True).start()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"rag-app: warning: listening on {args.host}: others on the network can read the documents", file=sys.stderr)
    where = rag.settings.store_url or rag.settings.store_dir
    print(f"rag-app: starting on http://{args.host}:{args.port} with the store {where}", file=sys.stderr, flush=True)
    try:
        launch(demo, rag, args.host, args.port)
    except OSError as exc:
        reason = "the port is in use" if "empty port" in str(exc) else str(exc)
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {reason}; pass another --port or set RAG_PORT") from None
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Start the UI; returns an exit code (0 ok, 1 internal error, 2 user error, 130 interrupted)."""
    return run_guarded("rag-app", lambda: serve(argv))


if __name__ == "__main__":
    sys.exit(main())
