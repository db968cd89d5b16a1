"""A small built-in sample of ML-paper text, used only when neither ../shared/fixtures nor tests/data is there.

Hand-written in the register of arXiv cs.LG/cs.CL/cs.CV abstracts so the generator still produces text with
ML-like phrases; the real fixtures give a much richer vocabulary and are preferred.
"""

from __future__ import annotations

TITLES: tuple[str, ...] = (
    "Scaling Laws for Sparse Mixture-of-Experts Language Models",
    "Diffusion Policies for Long-Horizon Robot Manipulation",
    "Efficient Attention with Linear Complexity for Long Context Reasoning",
    "Benchmarking Vision-Language Models on Multi-Image Reasoning",
    "Reinforcement Learning from Human Feedback without Reward Models",
    "Graph Neural Networks for Molecular Property Prediction",
    "Self-Supervised Pretraining of Video Transformers at Scale",
    "Retrieval-Augmented Generation for Open-Domain Question Answering",
    "Test-Time Compute Scaling for Mathematical Reasoning",
    "Parameter-Efficient Fine-Tuning with Low-Rank Adapters",
    "Unified Multimodal Tokenizers for Image and Text Generation",
    "Robust Speech Recognition under Distribution Shift",
)

ABSTRACTS: tuple[str, ...] = (
    "Large language models have shown remarkable capabilities across a wide range of tasks, yet their "
    "reasoning remains brittle when problems require many steps. In this work, we propose a simple training "
    "recipe that combines supervised fine-tuning with reinforcement learning from verifiable rewards. Our "
    "method improves accuracy on mathematical reasoning benchmarks by a large margin while reducing the "
    "number of generated tokens. Extensive experiments demonstrate that the approach generalizes to code "
    "generation and scientific question answering, and we release our code and models to the community.",
    "Diffusion models achieve state-of-the-art image generation quality but sampling is slow because it "
    "requires many denoising steps. We introduce a distillation framework that trains a student model to "
    "match the teacher in a few steps. The proposed objective is stable, does not require adversarial "
    "training and scales to high-resolution text-to-image synthesis. On standard benchmarks our model "
    "matches the teacher with four sampling steps and outperforms prior distillation methods.",
    "Vision-language models are increasingly used as agents that perceive and act in interactive "
    "environments. However, existing benchmarks evaluate single images and short instructions. We present "
    "a new benchmark with long videos, multi-turn dialogue and tool use, together with an evaluation "
    "protocol that measures both task success and efficiency. We find that current open-source models lag "
    "behind proprietary systems, and we analyze the failure modes that explain the gap.",
    "Graph neural networks are a powerful tool for learning on relational data, but message passing suffers "
    "from over-smoothing and limited expressive power. We propose a transformer architecture with "
    "structural positional encodings that provably distinguishes non-isomorphic graphs. Experiments on "
    "molecular property prediction and node classification show consistent gains over strong baselines.",
    "Robot learning from demonstrations often fails to generalize to new objects and scenes. We train a "
    "visuomotor policy on a large and diverse dataset collected with low-cost hardware, and show that "
    "pretraining on human videos further improves sample efficiency. The resulting policy performs "
    "dexterous manipulation tasks in the real world with a high success rate.",
    "We study the scaling behavior of sparse mixture-of-experts models and derive compute-optimal "
    "allocations between the number of experts, model size and training data. Our analysis reveals that "
    "routing quality, rather than expert count alone, determines downstream performance, and we propose a "
    "load-balancing loss that improves training stability at scale.",
)

FIRST_NAMES: tuple[str, ...] = (
    "Wei", "Anna", "Jun", "Maria", "David", "Yuki", "Ahmed", "Sofia", "Li", "James", "Priya", "Lukas",
    "Chen", "Elena", "Omar", "Hana", "Kofi", "Lena", "Mateo", "Aiko", "Ravi", "Sara", "Tomás", "Zhang",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Wang", "Smith", "Kim", "Garcia", "Müller", "Tanaka", "Hassan", "Rossi", "Liu", "Brown", "Patel",
    "Schmidt", "Chen", "Ivanova", "Ali", "Sato", "Mensah", "Yilmaz", "Lopez", "Laurent", "Gupta", "Nowak",
)  # fmt: skip

KEYWORDS: tuple[str, ...] = (
    "large language models", "reinforcement learning", "diffusion models", "vision-language models",
    "mixture-of-experts", "fine-tuning", "benchmark", "reasoning", "robot manipulation", "graph neural networks",
    "retrieval-augmented generation", "distillation", "scaling laws", "self-supervised learning",
)  # fmt: skip
