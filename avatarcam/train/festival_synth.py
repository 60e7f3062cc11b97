"""festival run on a Scheme script that synthesises a batch of utterances and prints each
one's Segment relation (phone names with end times); one process per batch because
festival takes longer to start than to speak a sentence."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import soundfile

from avatarcam.train.phonemes import from_arpabet, from_end_times
from avatarcam.train.speech import NOMINAL_WPM, SpokenText, Style, require_program, spoken

# festvox-kallpc16k: the voice Debian's festival package suggests.
VOICE_F0_HZ = {"kal_diphone": 105.0}
VOICES = tuple(VOICE_F0_HZ)
PITCH_OCTAVES = 0.6
F0_STD_RATIO = 0.14  # intonation spread relative to the mean F0, as the voice's own
UTTERANCE_MARK = "@@utterance"
TIMEOUT_S = 300


def _scheme_string(text: str) -> str:
    """`text` as a Scheme string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _script(texts: Sequence[str], voice: str, styles: Sequence[Style], folder: Path) -> str:
    """A festival batch script writing `folder/<i>.wav` and printing segment end times."""
    lines = [f"(voice_{voice})"]
    for i, (text, style) in enumerate(zip(texts, styles)):
        f0 = VOICE_F0_HZ[voice] * 2.0 ** ((style.pitch - 0.5) * PITCH_OCTAVES)
        lines += [
            f"(Parameter.set 'Duration_Stretch {NOMINAL_WPM / style.rate_wpm:.4f})",
            f"(set! int_lr_params '((target_f0_mean {f0:.1f}) (target_f0_std {f0 * F0_STD_RATIO:.1f})"
            " (model_f0_mean 170) (model_f0_std 34)))",
            f"(set! utt (utt.synth (Utterance Text {_scheme_string(text)})))",
            f"(utt.save.wave utt {_scheme_string(str(folder / f'{i}.wav'))} 'riff)",
            f'(format t "{UTTERANCE_MARK}\\n")',
            "(mapcar (lambda (s) (format t \"%s %f\\n\" (item.name s) (item.feat s \"end\")))"
            " (utt.relation.items utt 'Segment))",
        ]
    return "\n".join(lines) + "\n"


def speak_batch(texts: Sequence[str], voice: str, styles: Sequence[Style]) -> list[SpokenText]:
    """Each of `texts` spoken by festival's `voice` in the matching style."""
    program = require_program("festival", "festival festvox-kallpc16k")
    with tempfile.TemporaryDirectory(prefix="avatarcam-festival-") as tmp:
        folder = Path(tmp)
        script = folder / "batch.scm"
        script.write_text(_script(texts, voice, styles, folder), encoding="utf-8")
        done = subprocess.run(
            [program, "--batch", str(script)], capture_output=True, text=True, timeout=TIMEOUT_S, check=True,
        )
        blocks = done.stdout.split(UTTERANCE_MARK)[1:]
        if len(blocks) != len(texts):
            raise RuntimeError(
                f"festival synthesised {len(blocks)} of {len(texts)} utterances: {done.stderr.strip()}"
            )
        results = []
        for i, (block, style) in enumerate(zip(blocks, styles)):
            rows = [line.split() for line in block.strip().splitlines()]
            phones = from_end_times([from_arpabet(name) for name, _ in rows], [float(end) for _, end in rows])
            samples, rate = soundfile.read(str(folder / f"{i}.wav"), dtype="float32")
            results.append(spoken(samples, rate, phones, style))
    return results
