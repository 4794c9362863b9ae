"""The optimisation half of the RL step: the policy's forward with gradients, the minibatch / micro-batch loop and
the loss (policy loss, KL in the loss, entropy bonus, value loss). A mixin of
:class:`perl_lightning.modules.policy.PolicyModule` (kept apart so the module's own file reads like the algorithm
box)."""

from __future__ import annotations

import torch

from perl_lightning.rl.advantages import masked_mean
from perl_lightning.rl.kl import masked_kl
from perl_lightning.rl.losses import micro_batch_weights, value_loss
from perl_lightning.rl.masking import forward_tokens, length_order
from perl_lightning.rl.types import Experience, ImageInputs


class PolicyUpdate:
    """``update`` (step 7 of the RL step), ``loss`` and ``train_forward``; the host module provides ``cfg``,
    ``models``, ``sampling``, ``kl``, ``kl_ctl``, ``optim``, ``algo``, ``micro_batches`` and Lightning's manual
    optimisation (``optimizers``, ``lr_schedulers``, ``manual_backward``, ``clip_gradients``)."""

    def train_forward(
        self, sequences: torch.Tensor, attention_mask: torch.Tensor, prompt_length: int, entropy_metric: bool = False,
        images: ImageInputs | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:  # fmt: skip
        """Policy log-probs (N, R) with gradients, and the entropy (with gradients for an entropy bonus, else as a
        metric when ``entropy_metric``)."""
        bonus = self.cfg.entropy_coef > 0
        return self.models.train_logprobs(sequences, attention_mask, prompt_length, self.sampling.temperature,
                                          bonus or entropy_metric, entropy_grad=bonus, images=images)  # fmt: skip

    def update(
        self, exp: Experience, prompt_length: int, graph: tuple[torch.Tensor, torch.Tensor | None] | None = None
    ) -> dict[str, torch.Tensor]:
        """Optimise the policy (and value) on one experience batch; returns mean loss statistics.

        ``graph``: the on-policy step's forward (log-probs with gradients, entropy), used instead of a new one.
        """
        cfg, opt, sched = self.cfg, self.optimizers(), self.lr_schedulers()
        n = exp.sequences.shape[0]
        sums: dict[str, torch.Tensor] = {}
        micro_steps = 0
        for _ in range(cfg.update_epochs):
            device = exp.sequences.device  # on-policy (``graph``): one minibatch of every row, in the graph's order
            order = torch.randperm(n, device=device) if graph is None else torch.arange(n, device=device)
            for minibatch in order.chunk(min(cfg.num_minibatches, n)):
                if graph is None:  # rows of similar prompt length share a micro-batch (its forward trims padding)
                    minibatch = minibatch[length_order(exp.attention_mask[minibatch], prompt_length)]
                tokens = forward_tokens(exp.sequences[minibatch], exp.attention_mask[minibatch], prompt_length)
                for idx in minibatch.tensor_split(self.micro_batches(len(minibatch), tokens)):
                    part = exp.select(idx)  # its loss weighed by its share of the minibatch's
                    weights = micro_batch_weights(part.response_mask, exp.response_mask[minibatch], cfg.loss_agg)
                    loss, stats = self.loss(part, prompt_length, graph, weights)
                    self.manual_backward(loss)
                    for key, v in stats.items():
                        sums[key] = sums.get(key, 0.0) + v
                    micro_steps += 1
                if self.optim.max_grad_norm is not None:
                    self.clip_gradients(opt, gradient_clip_val=self.optim.max_grad_norm, gradient_clip_algorithm="norm")
                opt.step()
                opt.zero_grad(set_to_none=True)
                if sched is not None:
                    sched.step()
        return {k: v / max(micro_steps, 1) for k, v in sums.items()}

    def loss(
        self, exp: Experience, prompt_length: int, graph: tuple[torch.Tensor, torch.Tensor | None] | None = None,
        weights: tuple[float, float] = (1.0, 1.0),
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:  # fmt: skip
        """Policy loss (+ KL in the loss, - entropy bonus) + vf_coef * value loss on one micro-batch; ``weights``
        scale the policy loss and the token-mean terms by the micro-batch's share of its minibatch."""
        cfg, mask = self.cfg, exp.response_mask
        logprobs, entropy = graph or self.train_forward(exp.sequences, exp.attention_mask, prompt_length,
                                                        images=exp.images)  # fmt: skip
        entropy = entropy if cfg.entropy_coef > 0 else None
        loss, stats = self.algo.loss(logprobs, exp.old_logprobs, exp.advantages, mask, cfg,
                                     self.sampling.max_new_tokens)  # fmt: skip
        stats = {"rl/policy_loss": loss.detach(), "rl/clipfrac": stats["clipfrac"], "rl/approx_kl": stats["approx_kl"]}
        policy_w, token_w = weights
        loss = loss * policy_w
        if self.kl.placement == "loss" and self.kl.enabled:
            kl = masked_mean(masked_kl(logprobs, exp.ref_logprobs, mask, "k3"), mask)
            loss = loss + token_w * self.kl_ctl.value * kl
        if entropy is not None:
            loss = loss - token_w * cfg.entropy_coef * masked_mean(entropy, mask)
        if self.models.value_head is not None:
            values = self.models.train_values(exp.sequences, exp.attention_mask, prompt_length, exp.images)
            clip = cfg.value_clip if self.algo.clip_values else None
            v_loss, _ = value_loss(values, exp.old_values, exp.returns, mask, clip)
            loss = loss + token_w * cfg.vf_coef * v_loss
            stats["rl/value_loss"] = v_loss.detach()
        return loss, stats
