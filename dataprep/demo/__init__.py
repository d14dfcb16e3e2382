"""Demo and tutorial helpers, apart from what a production user imports: `dataprep demo`
(`run`), the generated datasets of `dataprep example` and the tests (`examples`), simulated
annotators answering in a real Label Studio as their own users (`studio_sim`,
`studio_users`) and `make ui-check` (`ui_check`). No stage and no part imports them."""
