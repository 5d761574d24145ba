"""Evaluation of ``rag``: hand-checked datasets (``evals/data``), pure metrics
(``evals.metrics``), HotpotQA (``evals.hotpotqa``) and the harness behind ``rag eval``
(``evals.harness``)."""
