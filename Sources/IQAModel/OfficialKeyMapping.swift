import NN

/// Names of the official IP-IQA code (github Coobiw/IP-IQA `ipiqa/models/ipiqa.py`, class `IPIQA`) against ours,
/// as data. The official model keeps CLIP's parts as siblings — `resnet50` (the visual trunk, its `attnpool`
/// replaced by Identity), `attnpool` (CLIP's attention pool, positional embedding interpolated to the input grid),
/// `txt_model`, `wte`, `ln_final`, `txt_pos`, `text_projection` — and adds `txt_attnpool` and `head`:
///
///     official                      ours
///     resnet50.<k>                  clip.visual.<k>
///     attnpool.<k>                  clip.visual.attnpool.<k>
///     txt_model.<k>                 clip.transformer.<k>
///     wte.weight                    clip.token_embedding.weight
///     ln_final.<k>                  clip.ln_final.<k>
///     txt_pos                       clip.positional_embedding
///     text_projection               clip.text_projection
///     txt_attnpool.<k>              txt_attnpool.<k>
///     head.dense.* / head.out_proj.*  head.dense.* / head.out_proj.*    (MLPHead)
///     head.weight / head.bias       head.linear.weight / head.linear.bias  (nn.Linear head)
///
/// Ours only: `clip.logit_scale` (unused by IP-IQA), `qa_token` (the paper's [QA] vector; exported folded into the
/// token table's end-of-text row). Official only: BatchNorm's `num_batches_tracked` counters.
///
/// ```swift
/// OfficialKeyMapping.ours("attnpool.c_proj.weight", head: .mlp)        // "clip.visual.attnpool.c_proj.weight"
/// OfficialKeyMapping.official("head.linear.bias", head: .linear)       // "head.bias"
/// ```
public enum OfficialKeyMapping {
    /// A renaming rule: `exact` rules match the whole key (`txt_pos` ↔ `clip.positional_embedding`), the others a
    /// prefix that is swapped (`resnet50.layer1.0.conv1.weight` ↔ `clip.visual.layer1.0.conv1.weight`).
    public struct Rule: Sendable {
        public let official: String
        public let ours: String
        public let exact: Bool
    }

    /// The rules for a head kind, most specific first: `clip.visual.attnpool.` must win over `clip.visual.`, since the
    /// official trunk's own pool is an Identity and the pool lives at the top level as `attnpool`.
    public static func rules(head: IPIQAConfiguration.Head) -> [Rule] {
        let headRules: [Rule] = head == .mlp
            ? [Rule(official: "head.dense.", ours: "head.dense.", exact: false), Rule(official: "head.out_proj.", ours: "head.out_proj.", exact: false)]
            : [Rule(official: "head.weight", ours: "head.linear.weight", exact: true), Rule(official: "head.bias", ours: "head.linear.bias", exact: true)]
        return [
            Rule(official: "attnpool.", ours: "clip.visual.attnpool.", exact: false),
            Rule(official: "resnet50.", ours: "clip.visual.", exact: false),
            Rule(official: "txt_model.", ours: "clip.transformer.", exact: false),
            Rule(official: "wte.weight", ours: "clip.token_embedding.weight", exact: true),
            Rule(official: "ln_final.", ours: "clip.ln_final.", exact: false),
            Rule(official: "txt_pos", ours: "clip.positional_embedding", exact: true),
            Rule(official: "text_projection", ours: "clip.text_projection", exact: true),
            Rule(official: "txt_attnpool.", ours: "txt_attnpool.", exact: false),
        ] + headRules
    }

    /// Our name for an official key (nil: no rule covers it).
    public static func ours(_ key: String, head: IPIQAConfiguration.Head) -> String? {
        for r in rules(head: head) {
            if r.exact ? key == r.official : key.hasPrefix(r.official) { return r.ours + key.dropFirst(r.official.count) }
        }
        return nil
    }

    /// The official name for one of our keys (nil: the official model has no such tensor).
    public static func official(_ key: String, head: IPIQAConfiguration.Head) -> String? {
        for r in rules(head: head) {
            if r.exact ? key == r.ours : key.hasPrefix(r.ours) { return r.official + key.dropFirst(r.ours.count) }
        }
        return nil
    }

    /// Whether the official trainer saves this (official) key: `_save_checkpoint` drops parameters without
    /// `requires_grad`. Trainable there: the trunk, both attention pools, the head, `txt_pos` and
    /// `text_projection` (its `freeze_module` sets `requires_grad = True` on bare parameters) and, with `qa_token`,
    /// the whole `wte` table; buffers (BatchNorm statistics) are always saved.
    public static func isSaved(_ official: String, qaToken: Bool) -> Bool {
        if official == "wte.weight" { return qaToken }
        return !official.hasPrefix("txt_model.") && !official.hasPrefix("ln_final.")
    }

    /// Prefixes by which a foreign checkpoint is recognised, for messages.
    static let families: [(prefix: String, name: String)] = [
        ("visual.conv1.weight", "a CLIP ResNet checkpoint (keys visual.*, transformer.*): give it as --clip"),
        ("visual.class_embedding", "a CLIP Vision Transformer checkpoint: IP-IQA uses CLIP's ResNet family"),
        ("clip.visual.", "an ipiqa model's tensors (keys clip.*): give the .safetensors model file as --model"),
        ("conv1.weight", "an image backbone's state dict (a torchvision-style ResNet?), not an IP-IQA model"),
    ]
}
