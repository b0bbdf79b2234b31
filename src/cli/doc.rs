//! `xdrmap doc`: render a guide the way the vendor's document lays it out, as Markdown.

use super::config::{gather, refuse_overwrite};
use super::error::Error;
use super::flags::LimitArgs;
use clap::Args;
use serde::Serialize;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use xdrmap::guide::spec::{self, GuideSpec, RowSpec};
use xdrmap::guide::{self, GuideSource};
use xdrmap::syntax::builtin_grammars;

/// The built-in template (`mappings/doc.md.j2`).
const TEMPLATE: &str = include_str!("../../mappings/doc.md.j2");

/// Render a guide as Markdown, the way the vendor's data mapping guide reads.
///
/// Prints the device details, the Data Field Mappings table (source field, token, sample
/// value, description) and the internal fields table. The layout is a minijinja template;
/// --template replaces it (see mappings/doc.md.j2 for the variables).
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  xdrmap doc\n  xdrmap doc my_device.yaml -o my_device.md\n  xdrmap doc --template html.j2"
)]
pub struct DocArgs {
    /// A guide file, or a folder (every guide in it, one after the other); none renders the
    /// built-in Citrix guide.
    #[arg(value_name = "GUIDE")]
    guide: Option<PathBuf>,

    /// A minijinja template to render instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    template: Option<PathBuf>,

    /// Write to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Serialize)]
struct Row {
    source: String,
    token: String,
    sample: String,
    description: String,
    note: Option<String>,
}

#[derive(Serialize)]
struct Device {
    r#type: String,
    vendor: String,
    product: String,
    model: Option<String>,
    supported_versions: Vec<String>,
    formats: Vec<String>,
}

pub fn run(args: DocArgs) -> Result<ExitCode, Error> {
    let sources = gather(args.guide.as_slice(), "")?;
    // The guide must compile: a document of a broken guide would mislead.
    let limits = args.limits.limits();
    guide::compile_with(&sources, builtin_grammars(), &limits).map_err(Error::guides)?;
    let reads: Vec<PathBuf> = sources.iter().map(|s| s.file.clone()).chain(args.template.clone()).collect();
    refuse_overwrite(&[("-o", args.output.as_deref())], &reads)?;
    let template = match &args.template {
        None => TEMPLATE.to_string(),
        Some(path) => {
            std::fs::read_to_string(path).map_err(|error| Error::File { action: "read", path: path.clone(), error })?
        }
    };
    let mut text = String::new();
    for source in &sources {
        text.push_str(
            &render(source, &template, limits.template_fuel)
                .map_err(|e| Error::Other(format!("template error: {e}")))?,
        );
    }
    match &args.output {
        None => io::stdout().write_all(text.as_bytes()).map_err(Error::Output)?,
        Some(path) => {
            std::fs::write(path, text).map_err(|error| Error::File { action: "write", path: path.clone(), error })?
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn render(source: &GuideSource, template: &str, fuel: u64) -> Result<String, String> {
    let spec: GuideSpec = serde_yaml::from_str(&source.text).map_err(|e| e.to_string())?;
    let row = |r: &RowSpec| Row {
        source: r.source.clone().unwrap_or_default(),
        token: r.token.clone(),
        sample: r.sample.as_ref().and_then(spec::scalar).unwrap_or_default(),
        description: r.description.clone().unwrap_or_default(),
        note: r.note.clone(),
    };
    let fields: Vec<Row> = spec.fields.iter().map(row).collect();
    let internal: Vec<Row> = spec.internal_fields.iter().map(row).collect();
    // The vendor document repeats these two constants above its table.
    let constants: Vec<&Row> =
        internal.iter().filter(|r| r.token == "deviceType" || r.token == "deviceVendor").collect();
    let device = Device {
        r#type: spec.device.device_type.clone(),
        vendor: spec.device.vendor.clone(),
        product: spec.device.product.clone(),
        model: spec.device.model.clone(),
        supported_versions: spec.device.supported_versions.clone(),
        formats: spec.device.formats.clone(),
    };
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // A template is data too: its loops have a budget, and `indent` (a width it would
    // allocate) is capped.
    env.set_fuel(Some(fuel));
    env.add_filter("indent", |s: String, width: Option<usize>| -> Result<String, minijinja::Error> {
        let width = width.unwrap_or(4);
        if width > 100 {
            return Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, "indent is at most 100"));
        }
        let pad = " ".repeat(width);
        Ok(s.lines()
            .enumerate()
            .map(|(i, l)| if i == 0 || l.is_empty() { l.to_string() } else { format!("{pad}{l}") })
            .collect::<Vec<_>>()
            .join("\n"))
    });
    env.add_filter("cell", |s: String| s.replace('|', "\\|").replace('\n', " "));
    env.add_template("doc", template).map_err(|e| e.to_string())?;
    let tmpl = env.get_template("doc").map_err(|e| e.to_string())?;
    tmpl.render(minijinja::context! {
        title => spec.title,
        reference => spec.reference,
        device => device,
        constants => constants,
        notes => fields.iter().chain(&internal).filter(|r| r.note.is_some()).collect::<Vec<_>>(),
        fields => fields,
        internal_fields => internal,
    })
    .map_err(|e| e.to_string())
}
