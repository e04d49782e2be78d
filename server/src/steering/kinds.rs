//! The closed vocabularies of the strategy config: samplers, updaters, feedback modes, seed
//! policies and steering modes, with their wire names (serde) and lists of valid values.

use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in the reference's declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name (as in YAML, JSON and the reference).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Every wire name, in declaration order.
            pub fn names() -> Vec<&'static str> {
                Self::ALL.iter().map(|value| value.as_str()).collect()
            }

            /// Parses a wire name.
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.as_str() == text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// The 13 samplers (§4 of the reference document).
    SamplerKind {
        RandomLocal => "random_local",
        ExploitOrthogonal => "exploit_orthogonal",
        UncertaintyGuided => "uncertainty_guided",
        AxisSweep => "axis_sweep",
        IncumbentMix => "incumbent_mix",
        DiversityShell => "diversity_shell",
        LineSearch => "line_search",
        PlateauEscape => "plateau_escape",
        AnnealedShell => "annealed_shell",
        SphericalCover => "spherical_cover",
        TwoScaleCover => "two_scale_cover",
        QualityDiversityMix => "quality_diversity_mix",
        RestartBridgeMix => "restart_bridge_mix",
    }
);

string_enum!(
    /// The 12 updaters (§5 of the reference document), in the reference enum order.
    UpdaterKind {
        WinnerAverage => "winner_average",
        WinnerCopy => "winner_copy",
        LinearPreference => "linear_preference",
        ScoreWeightedPreference => "score_weighted_preference",
        ContrastivePreference => "contrastive_preference",
        SoftmaxPreference => "softmax_preference",
        BordaPreference => "borda_preference",
        BradleyTerryPreference => "bradley_terry_preference",
        ChallengerMixturePreference => "challenger_mixture_preference",
        PlackettLucePreference => "plackett_luce_preference",
        AdvantageSoftmaxPreference => "advantage_softmax_preference",
        CritiqueWeightedPreference => "critique_weighted_preference",
    }
);

string_enum!(
    /// The six feedback modes (§6.1).
    FeedbackMode {
        ScalarRating => "scalar_rating",
        Pairwise => "pairwise",
        TopK => "top_k",
        WinnerOnly => "winner_only",
        ApproveReject => "approve_reject",
        CritiqueRating => "critique_rating",
    }
);

string_enum!(
    /// Render-seed policies (§3.7) plus the new `fixed-across-rounds`.
    SeedPolicy {
        FixedPerRound => "fixed-per-round",
        FixedPerCandidate => "fixed-per-candidate",
        FixedPerCandidateRole => "fixed-per-candidate-role",
        /// New: the same seed for a slot in every round (not in the reference).
        FixedAcrossRounds => "fixed-across-rounds",
        /// New: one seed for every candidate of every round until the user asks for a new one,
        /// so a comparison isolates the effect of z (the `preference` default).
        Shared => "shared",
    }
);

string_enum!(
    /// How a session steers: the Bayesian preference model over the whole session (the default
    /// for new sessions) or the reference's per-round sampler + updater (`classic`).
    Strategy {
        Preference => "preference",
        Classic => "classic",
    }
);

string_enum!(
    /// The directions z is expressed in: a per-session semantic basis from CLIP prompt variants,
    /// the reference's sinusoidal hidden-space basis, or random orthonormal directions (a control).
    BasisKind {
        Semantic => "semantic",
        Sinusoidal => "sinusoidal",
        RandomOrthonormal => "random_orthonormal",
    }
);

string_enum!(
    /// How the preference strategy picks a round's candidates from its pool.
    Acquisition {
        /// Greedy batch expected utility of the best item (qEUBO).
        Qeubo => "qeubo",
        /// One posterior sample's optimum per slot.
        Thompson => "thompson",
        /// The posterior mean plus the nearest pool points (an ablation).
        PosteriorMean => "posterior_mean",
        /// Uniform points in the trust region (an ablation).
        Random => "random",
    }
);

string_enum!(
    /// The four steering modes (§3.3). The engine's operator has its own mirror of this enum
    /// (`steering_offset::OffsetMode`) so that the two crates stay independent.
    SteeringMode {
        LowDimensional => "low_dimensional",
        ContentMasked => "content_masked",
        TokenFactorized => "token_factorized",
        TokenVectorField => "token_vector_field",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_round_trips() {
        assert_eq!(SamplerKind::ALL.len(), 13);
        assert_eq!(UpdaterKind::ALL.len(), 12);
        assert_eq!(FeedbackMode::ALL.len(), 6);
        assert_eq!(SeedPolicy::ALL.len(), 5);
        assert_eq!(SteeringMode::ALL.len(), 4);
        for kind in SamplerKind::ALL {
            assert_eq!(SamplerKind::parse(kind.as_str()), Some(*kind));
            let json = serde_json::to_string(kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(
            SeedPolicy::parse("fixed-across-rounds"),
            Some(SeedPolicy::FixedAcrossRounds)
        );
        assert_eq!(UpdaterKind::parse("nope"), None);
    }
}
