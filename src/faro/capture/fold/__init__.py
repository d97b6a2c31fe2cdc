"""The fold: watch events into stories (router, owner graph, story book, completion, pod
lifecycle and replacements, diff, redaction, filters). Pure bookkeeping: no I/O, no awaits."""
