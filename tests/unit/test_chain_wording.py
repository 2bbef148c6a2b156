"""The vanishing finding's tenses agree: "From step 0 on ... has been ... at step 2", never
"Since step 0 ... is 2.3e-17 of the gradient leaving the loss at step 2"."""

from tests.unit.diagnosis_fakes import chain, feed, healthy, one_link, started


def _vanishing_message(run, steps) -> str:
    _diagnoser, fired = feed([run, *steps])
    found = [d for _i, d in fired if d.kind == "vanishing_gradients"]
    assert found, "no vanishing finding"
    return found[0].message


def test_the_chain_message_says_from_when_and_quotes_the_latest_step() -> None:
    run = started(depth=6)
    steps = [healthy(run, s, block_grad_norm=chain(run, 0.1)) for s in range(5)]
    message = _vanishing_message(run, steps)
    assert message.startswith(
        "From step 0 on, the gradient reaching blocks.0 has been a small part of the gradient "
        "leaving the loss: 1.0e-06 of it at step 2 (6.0 decades lost on the way back)"
    )
    assert "Since step" not in message


def test_the_layers_message_says_from_when_and_quotes_the_latest_step() -> None:
    run = one_link()
    norms = tuple(1e-8 * 10.0**i for i in range(len(run.layers)))
    steps = [healthy(run, s, grad_norm=norms, block_grad_norm=(0.2,)) for s in range(4)]
    message = _vanishing_message(run, steps)
    assert message.startswith(
        "From step 0 on, the weight gradient of blocks.0.linear has been a small part of "
        "head's: 1.0e-05 of it at step 2 (5.0 decades lower)."
    )
    assert "Since step" not in message
