"""The 42 topic tags, defined once.

They are the two halves of the seed log's classification prompts, merged into one list.
Names are lower-case without '#' (that is how `Enrichment.tags` stores them); `display()`
adds the '#'. `TRANSLATION` is named `machine_translation`, as HFday shows it today.
Legacy HFday tags (2024 issues) map onto current names through `LEGACY`.
"""

from __future__ import annotations

from collections.abc import Iterable

# name -> one-line description (order = the seed prompts' order; first half, then second).
TAGS: dict[str, str] = {
    "dataset": "Papers that introduce new datasets or make significant modifications to existing ones",
    "data": "Papers focusing on data processing, cleaning, collection, or curation methodologies",
    "benchmark": "Papers proposing or analyzing model evaluation frameworks and benchmarks",
    "agents": "Papers exploring autonomous agents, web agents, or agent-based architectures",
    "cv": "Papers developing computer vision methods or visual processing systems",
    "rl": "Papers investigating reinforcement learning theory or applications",
    "rlhf": "Papers specifically about human feedback in RL (PPO, DPO, etc.)",
    "rag": "Papers advancing retrieval-augmented generation techniques",
    "plp": "Papers about Programming Language Processing models or programming benchmarks",
    "inference": "Papers optimizing model deployment (quantization, pruning, etc.)",
    "3d": "Papers on 3D content generation, processing, or understanding",
    "audio": "Papers advancing speech/audio processing or generation",
    "video": "Papers on video analysis, generation, or understanding",
    "multimodal": "Papers combining multiple input/output modalities",
    "math": "Papers focused on mathematical theory and algorithms",
    "multilingual": "Papers addressing multiple languages or cross-lingual capabilities, "
    "including all non English models",
    "architecture": "Papers proposing novel neural architectures or components",
    "healthcare": "Papers applying ML to medical/healthcare domains",
    "training": "Papers improving model training or fine-tuning methods",
    "robotics": "Papers on robotic systems and embodied AI",
    "small_models": "Papers that describe models considering small, below 1 billion parameters "
    "or similar",
    "agi": "Papers discussing artificial general intelligence concepts",
    "games": "Papers applying ML to games or game development",
    "interpretability": "Papers analyzing model behavior and explanations",
    "reasoning": "Papers enhancing logical reasoning capabilities",
    "transfer_learning": "Papers on knowledge transfer between models/domains",
    "graphs": "Papers advancing graph neural networks and applications",
    "ethics": "Papers addressing AI ethics, fairness, and bias",
    "security": "Papers on model security and adversarial robustness",
    "optimization": "Papers advancing training optimization methods",
    "survey": "Papers comprehensively reviewing research areas",
    "diffusion": "Papers on diffusion-based generative models",
    "alignment": "Papers about aligning language models with human values, preferences, "
    "and intended behavior",
    "story_generation": "Papers on story generation, including plot generation and author "
    "style adaptation",
    "hallucinations": "Papers about the hallucinations, hallucinations analysis and mitigation",
    "long_context": "Papers about long context handling, including techniques to extend "
    "context length",
    "synthetic": "Papers about using synthetic data for training, including methods for "
    "generating and leveraging artificial data",
    "machine_translation": "Papers on machine translation, including techniques, data and "
    "applications for translating between languages",
    "leakage": "Papers about data leakage, including issues of unintended data exposure and "
    "methods to detect or prevent it",
    "open_source": "Papers that contribute to open-source projects by releasing models, "
    "datasets, or frameworks to the public",
    "science": "Papers on scientific applications of LM including understanding of science "
    "articles and research automatization",
    "low_resource": "Papers that mention low-resource languages",
}

TAG_NAMES: tuple[str, ...] = tuple(TAGS)

# Old HFday spellings -> current names. 2024 issues used these before the taxonomy settled.
LEGACY: dict[str, str] = {
    "translation": "machine_translation",
    "medicine": "healthcare",
    "edge_computing": "inference",
    "synthetic_data": "synthetic",
    "hallucination": "hallucinations",
    "long-context": "long_context",
    "code": "plp",
    "speech": "audio",
}

# One emoji per tag: what the offline enricher shows for a paper's top tag.
TAG_EMOJI: dict[str, str] = {
    "dataset": "📚", "data": "🧹", "benchmark": "📏", "agents": "🤖", "cv": "👁️",
    "rl": "🎮", "rlhf": "👍", "rag": "🔎", "plp": "💻", "inference": "⚡", "3d": "🧊",
    "audio": "🎧", "video": "🎬", "multimodal": "🧩", "math": "➗", "multilingual": "🌍",
    "architecture": "🏗️", "healthcare": "🩺", "training": "🏋️", "robotics": "🦾",
    "small_models": "🐜", "agi": "🌌", "games": "🎲", "interpretability": "🔬",
    "reasoning": "🧠", "transfer_learning": "🔁", "graphs": "🕸️", "ethics": "⚖️",
    "security": "🔒", "optimization": "📈", "survey": "🗺️", "diffusion": "🌫️",
    "alignment": "🎯", "story_generation": "📖", "hallucinations": "👻",
    "long_context": "📜", "synthetic": "🧪", "machine_translation": "🈂️", "leakage": "💧",
    "open_source": "🔓", "science": "🔭", "low_resource": "🌱",
}
DEFAULT_EMOJI = "📄"

assert len(TAGS) == 42 and set(TAG_EMOJI) == set(TAGS)


def display(name: str) -> str:
    """'cv' -> '#cv' (the form pages and feeds show)."""
    return f"#{name}"


def normalize(tag: str) -> str | None:
    """Map any spelling ('#CV', 'TRANSLATION', '#medicine') to a taxonomy name, else None."""
    t = tag.strip().lstrip("#").strip().lower().replace(" ", "_")
    if t in TAGS:
        return t
    if t in LEGACY:
        return LEGACY[t]
    t2 = t.replace("-", "_")
    return t2 if t2 in TAGS else LEGACY.get(t2)


def normalize_all(tags: Iterable[str]) -> list[str]:
    """Normalise a list of tags, dropping unknown ones and duplicates, keeping order."""
    out: list[str] = []
    for t in tags:
        n = normalize(t)
        if n and n not in out:
            out.append(n)
    return out


def describe(name: str) -> str:
    """The one-line description of a tag (KeyError for an unknown name)."""
    return TAGS[name]


def prompt_list() -> str:
    """The taxonomy as the LLM prompt shows it: one `name: description` per line."""
    return "\n".join(f"{n}: {d}" for n, d in TAGS.items())
