//! MT19937 seeded exactly like CPython's `random.Random(seed)` for non-negative integer seeds.
//!
//! CPython splits the absolute seed into 32-bit words (least significant first) and feeds them to
//! `init_by_array`; `random()` is `genrand_res53` and `uniform(a, b) = a + (b - a) * random()`.

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// A Mersenne Twister with CPython's seeding and float conversion.
#[derive(Clone)]
pub struct PyRandom {
    mt: [u32; N],
    index: usize,
}

impl std::fmt::Debug for PyRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyRandom")
            .field("index", &self.index)
            .finish()
    }
}

impl PyRandom {
    /// Seeds like `random.Random(seed)` for a non-negative integer seed.
    pub fn new(seed: u128) -> Self {
        let mut key = Vec::with_capacity(4);
        let mut rest = seed;
        while rest > 0 {
            key.push((rest & 0xffff_ffff) as u32);
            rest >>= 32;
        }
        if key.is_empty() {
            key.push(0);
        }
        let mut rng = PyRandom {
            mt: [0; N],
            index: N + 1,
        };
        rng.init_by_array(&key);
        rng
    }

    fn init_genrand(&mut self, seed: u32) {
        self.mt[0] = seed;
        for i in 1..N {
            let prev = self.mt[i - 1];
            self.mt[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        self.index = N;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19_650_218);
        let mut i = 1usize;
        let mut j = 0usize;
        for _ in 0..N.max(key.len()) {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
        }
        self.mt[0] = 0x8000_0000;
    }

    fn twist(&mut self) {
        for kk in 0..N {
            let y = (self.mt[kk] & UPPER_MASK) | (self.mt[(kk + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.mt[kk] = self.mt[(kk + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// One tempered 32-bit output (`genrand_uint32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// `random.random()`: a float in [0, 1) with 53 random bits.
    pub fn random(&mut self) -> f64 {
        let a = f64::from(self.next_u32() >> 5);
        let b = f64::from(self.next_u32() >> 6);
        (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `random.uniform(a, b) = a + (b - a) * random()`.
    pub fn uniform(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.random()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_cpython_for_documented_seed() {
        let mut rng = PyRandom::new(12362);
        let draws: Vec<f64> = (0..3).map(|_| rng.random()).collect();
        let expected = [0.344801214401, 0.480518782921, 0.273653332712];
        for (got, want) in draws.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn matches_cpython_for_zero_and_multi_word_seeds() {
        let cases: [(u128, f64, f64); 4] = [
            (0, 0.8444218515250481, 0.4579544029403025),
            (4294967301, 0.15727238718789782, -0.017513368353800074),
            (4294968518, 0.7611887837567031, 0.091914409453357),
            (
                18446744073709551623,
                0.9625990769630326,
                0.02725113666234219,
            ),
        ];
        for (seed, first, second) in cases {
            let mut rng = PyRandom::new(seed);
            assert_eq!(rng.random(), first, "seed {seed}");
            assert_eq!(rng.uniform(-0.3, 0.7), second, "seed {seed}");
        }
    }

    #[test]
    fn multi_word_seed_differs_from_truncated_seed() {
        let mut big = PyRandom::new((1u128 << 32) + 5);
        let mut small = PyRandom::new(5);
        assert_ne!(big.next_u32(), small.next_u32());
    }

    #[test]
    fn uniform_stays_in_range() {
        let mut rng = PyRandom::new(0);
        for _ in 0..1000 {
            let v = rng.uniform(-0.5, 0.25);
            assert!((-0.5..0.25).contains(&v));
        }
    }
}
