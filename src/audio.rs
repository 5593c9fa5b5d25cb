//! IVR prompts: reads a PCM WAV file and gives Asterisk's best-supported form, 8 kHz mono
//! 16-bit little-endian (`.wav`), converting other rates, widths and channel counts.

/// Why a file is not a prompt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudioError {
    #[error("is not a WAV file (RIFF/WAVE)")]
    NotWav,
    #[error("is a WAV file Mayday cannot read: {0}")]
    Unsupported(String),
    #[error("holds no audio")]
    Empty,
    #[error("is longer than {0} seconds")]
    TooLong(u32),
}

/// A prompt ready for Asterisk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// A complete WAV file: 8 kHz, mono, 16-bit PCM.
    pub wav: Vec<u8>,
    pub duration_ms: u32,
}

const RATE: u32 = 8_000;

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    b.get(i..i + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    b.get(i..i + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Parses `bytes` as WAV and converts it; at most `max_secs` long.
pub fn prompt_from_wav(bytes: &[u8], max_secs: u32) -> Result<Prompt, AudioError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(AudioError::NotWav);
    }
    let mut i = 12;
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    let mut data: Option<&[u8]> = None;
    while i + 8 <= bytes.len() {
        let id = &bytes[i..i + 4];
        let len = u32_at(bytes, i + 4).ok_or(AudioError::NotWav)? as usize;
        let body_start = i + 8;
        let body_end = body_start.saturating_add(len).min(bytes.len());
        let body = &bytes[body_start..body_end];
        match id {
            b"fmt " => {
                let (Some(format), Some(channels), Some(rate), Some(bits)) =
                    (u16_at(body, 0), u16_at(body, 2), u32_at(body, 4), u16_at(body, 14))
                else {
                    return Err(AudioError::Unsupported("short fmt chunk".into()));
                };
                // 0xFFFE (extensible) carries PCM in its sub-format; accept it as PCM.
                fmt = Some((format, channels, rate, bits));
            }
            b"data" => data = Some(body),
            _ => {}
        }
        // Chunks are padded to an even length.
        i = body_start.saturating_add(len).saturating_add(len % 2);
    }
    let (format, channels, rate, bits) = fmt.ok_or_else(|| AudioError::Unsupported("no fmt chunk".into()))?;
    let data = data.ok_or(AudioError::Empty)?;
    if format != 1 && format != 0xFFFE {
        return Err(AudioError::Unsupported(format!("format {format} (only PCM)")));
    }
    if !(1..=8).contains(&channels) || !(4_000..=192_000).contains(&rate) || !matches!(bits, 8 | 16 | 24 | 32) {
        return Err(AudioError::Unsupported(format!("{channels} channels, {rate} Hz, {bits} bits")));
    }
    let width = usize::from(bits / 8);
    let frame = width * usize::from(channels);
    let frames = data.len() / frame;
    if frames == 0 {
        return Err(AudioError::Empty);
    }
    if frames as u64 > u64::from(max_secs) * u64::from(rate) {
        return Err(AudioError::TooLong(max_secs));
    }
    // Mono samples as f32 in [-1, 1].
    let sample = |b: &[u8]| -> f32 {
        match width {
            1 => (f32::from(b[0]) - 128.0) / 128.0,
            2 => f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0,
            3 => (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0,
            _ => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0,
        }
    };
    let mono: Vec<f32> = data
        .chunks_exact(frame)
        .map(|f| f.chunks_exact(width).map(sample).sum::<f32>() / f32::from(channels))
        .collect();
    // Resample to 8 kHz: average the source samples each output sample covers when
    // downsampling (a box low-pass, enough for speech), interpolate when upsampling.
    let out_len = ((mono.len() as u64 * u64::from(RATE)) / u64::from(rate)).max(1) as usize;
    let step = f64::from(rate) / f64::from(RATE);
    let mut pcm = Vec::with_capacity(out_len * 2);
    for n in 0..out_len {
        let start = n as f64 * step;
        let v = if step > 1.0 {
            let (a, b) = (start as usize, ((start + step) as usize).min(mono.len()).max(start as usize + 1));
            let slice = &mono[a.min(mono.len() - 1)..b.min(mono.len())];
            slice.iter().sum::<f32>() / slice.len().max(1) as f32
        } else {
            let a = (start as usize).min(mono.len() - 1);
            let b = (a + 1).min(mono.len() - 1);
            let t = (start - a as f64) as f32;
            mono[a] * (1.0 - t) + mono[b] * t
        };
        let s = (v.clamp(-1.0, 1.0) * 32_767.0).round() as i16;
        pcm.extend_from_slice(&s.to_le_bytes());
    }
    let duration_ms = u32::try_from(out_len as u64 * 1000 / u64::from(RATE)).unwrap_or(u32::MAX);
    Ok(Prompt { wav: wav_8k_mono(&pcm), duration_ms })
}

/// A WAV file around 8 kHz mono 16-bit samples.
pub fn wav_8k_mono(pcm: &[u8]) -> Vec<u8> {
    let len = u32::try_from(pcm.len()).unwrap_or(u32::MAX);
    let mut w = Vec::with_capacity(44 + pcm.len());
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + len).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&RATE.to_le_bytes());
    w.extend_from_slice(&(RATE * 2).to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&len.to_le_bytes());
    w.extend_from_slice(pcm);
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(rate: u32, channels: u16, bits: u16, frames: usize) -> Vec<u8> {
        let width = usize::from(bits / 8);
        let data_len = frames * width * usize::from(channels);
        let mut w = Vec::new();
        w.extend_from_slice(b"RIFF");
        w.extend_from_slice(&(36 + data_len as u32).to_le_bytes());
        w.extend_from_slice(b"WAVEfmt ");
        w.extend_from_slice(&16u32.to_le_bytes());
        w.extend_from_slice(&1u16.to_le_bytes());
        w.extend_from_slice(&channels.to_le_bytes());
        w.extend_from_slice(&rate.to_le_bytes());
        w.extend_from_slice(&(rate * u32::from(channels) * u32::from(bits / 8)).to_le_bytes());
        w.extend_from_slice(&(channels * bits / 8).to_le_bytes());
        w.extend_from_slice(&bits.to_le_bytes());
        w.extend_from_slice(b"data");
        w.extend_from_slice(&(data_len as u32).to_le_bytes());
        w.resize(44 + data_len, 0x10);
        w
    }

    #[test]
    fn an_8k_mono_file_keeps_its_length_and_others_are_converted() {
        let p = prompt_from_wav(&wav(8_000, 1, 16, 8_000), 60).expect("8 kHz mono");
        assert_eq!((p.wav.len(), p.duration_ms), (44 + 16_000, 1_000));
        let p = prompt_from_wav(&wav(44_100, 2, 16, 44_100 * 2), 60).expect("CD quality converted");
        assert_eq!(
            (p.duration_ms, &p.wav[22..24], &p.wav[24..28]),
            (2_000, &[1u8, 0][..], &8_000u32.to_le_bytes()[..])
        );
        assert!(prompt_from_wav(&wav(8_000, 1, 8, 400), 60).is_ok(), "8-bit");
    }

    #[test]
    fn other_files_are_refused() {
        assert_eq!(prompt_from_wav(b"ID3\x03 not a wave file at all", 60), Err(AudioError::NotWav));
        assert_eq!(prompt_from_wav(&wav(8_000, 1, 16, 0), 60), Err(AudioError::Empty));
        assert_eq!(prompt_from_wav(&wav(8_000, 1, 16, 8_000 * 3), 2), Err(AudioError::TooLong(2)));
        let mut alaw = wav(8_000, 1, 16, 10);
        alaw[20] = 6;
        assert!(matches!(prompt_from_wav(&alaw, 60), Err(AudioError::Unsupported(_))));
    }
}
