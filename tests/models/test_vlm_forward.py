"""Images through the RL forward passes of a VLM: shared prompts encode their image once, same numbers as the full
forward with every row's pixels; same text with another image is another prompt; no images is an error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from perl_lightning.models.forward import last_hidden_state, response_hidden_states, response_logprobs
from perl_lightning.models.vlm import TINY_VLMS, load_vlm
from perl_lightning.rl.types import ImageInputs, concat_images

pytestmark = pytest.mark.usefixtures("one_thread")


def _image(seed: int) -> Image.Image:
    return Image.fromarray((np.random.RandomState(seed).rand(40, 40, 3) * 255).astype("uint8"))


def _rows(processor, k: int = 3) -> tuple[torch.Tensor, torch.Tensor, int, ImageInputs]:
    """Two prompts (the same question about two different images), ``k`` sampled responses each."""
    processor.tokenizer.padding_side = "left"
    text = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Which colour?"}]}],
        add_generation_prompt=True,
    )
    inputs = processor(text=[text, text], images=[_image(0), _image(1)], return_tensors="pt", padding=True)
    pixels = {key: value for key, value in inputs.items() if key.startswith("pixel") or key == "image_sizes"}
    prompt, mask = inputs["input_ids"].repeat_interleave(k, 0), inputs["attention_mask"].repeat_interleave(k, 0)
    responses = torch.randint(10, 200, (2 * k, 4), generator=torch.Generator().manual_seed(0))
    sequences = torch.cat([prompt, responses], 1)
    attention = torch.cat([mask, torch.ones_like(responses)], 1)
    return sequences, attention, prompt.shape[1], ImageInputs(pixels, torch.arange(2).repeat_interleave(k))


@pytest.mark.parametrize("name", sorted(TINY_VLMS))
def test_shared_prompt_pass_matches_the_full_forward_with_every_rows_pixels(name):
    model, processor = load_vlm(name, dtype="fp32")
    model.eval()
    sequences, attention, p, images = _rows(processor)
    with torch.no_grad():
        shared = response_hidden_states(model, sequences, attention, p, images)
        full = model.base_model(input_ids=sequences, attention_mask=attention, **images.rows()).last_hidden_state
        torch.testing.assert_close(shared, full[:, p - 1 : -1], atol=1e-5, rtol=1e-4)
        # the two prompts have identical tokens: only the image tells them apart
        assert torch.equal(sequences[0, :p], sequences[3, :p])
        assert not torch.allclose(shared[0, 0], shared[3, 0]), "rows with different images were merged into one prompt"
        lp, _ = response_logprobs(model, sequences, attention, p, images=images)
        logits = model(input_ids=sequences, attention_mask=attention, **images.rows()).logits[:, p - 1 : -1].float()
        expected = torch.log_softmax(logits, -1).gather(-1, sequences[:, p:, None]).squeeze(-1)
        torch.testing.assert_close(lp, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(TINY_VLMS))
def test_image_tokens_without_images_are_refused(name):
    model, processor = load_vlm(name, dtype="fp32")
    sequences, attention, p, images = _rows(processor, k=1)
    with pytest.raises(ValueError, match="blind to the image"):
        last_hidden_state(model, sequences, attention)
    with pytest.raises(ValueError, match="blind to the image"):
        response_logprobs(model, sequences, attention, p)


def test_image_inputs_select_repeat_and_concat():
    pixels = {"pixel_values": torch.arange(2 * 3, dtype=torch.float).view(2, 3)}
    images = ImageInputs(pixels, torch.tensor([0, 1])).repeat(2)
    assert images.index.tolist() == [0, 0, 1, 1]
    assert images.rows([1, 2])["pixel_values"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert images.select([3]).rows()["pixel_values"].tolist() == [[3, 4, 5]]
    both = concat_images([images, ImageInputs({"pixel_values": torch.full((1, 3), 9.0)}, torch.tensor([0]))])
    assert both.index.tolist() == [0, 0, 1, 1, 2]
    assert both.rows([4])["pixel_values"].tolist() == [[9, 9, 9]]
    assert concat_images([None, None]) is None
    with pytest.raises(ValueError, match="some row batches have images"):
        concat_images([images, None])
