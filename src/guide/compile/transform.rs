//! A row's transform, checked against the row's type.

use super::{GuideCompiler, RowAt};
use crate::diag::Code;
use crate::guide::plan::Transform;
use crate::guide::spec::{Part, TransformSpec};
use crate::value::Type;

impl GuideCompiler<'_> {
    pub(super) fn transform(&mut self, spec: &TransformSpec, ty: &Type, at: &RowAt) -> Option<Transform> {
        let wrong =
            |part: Part, wanted: &[(Part, Type)]| wanted.iter().find(|(p, _)| *p == part).map(|(_, t)| t.clone());
        let t = match spec {
            TransformSpec::SplitIpPort(part) => {
                let expected = wrong(*part, &[(Part::Ip, Type::Ip), (Part::Port, Type::Port)]);
                let fits = match (&expected, ty) {
                    (Some(Type::Ip), Type::Ip | Type::Ipv4 | Type::Ipv6) => true,
                    (e, ty) => e.as_ref() == Some(ty),
                };
                if !fits {
                    let message = match expected {
                        Some(e) => format!(
                            "split_ip_port: {} gives type '{}', but the row's type is '{}'",
                            part_name(*part),
                            e.name(),
                            ty.name()
                        ),
                        None => format!("split_ip_port takes `ip` or `port`, not `{}`", part_name(*part)),
                    };
                    self.problem(Code::Transform, message, at, "transform");
                    return None;
                }
                if *part == Part::Ip {
                    Transform::AddressOf
                } else {
                    Transform::PortOf
                }
            }
            TransformSpec::SplitStatus(Part::Outcome) => Transform::StatusOutcome,
            TransformSpec::SplitStatus(Part::Reason) => Transform::StatusReason,
            TransformSpec::SplitStatus(part) => {
                let message = format!("split_status takes `outcome` or `reason`, not `{}`", part_name(*part));
                self.problem(Code::Transform, message, at, "transform");
                return None;
            }
            TransformSpec::Map(pairs) => {
                if let Type::Enum(values) = ty {
                    for out in pairs.values() {
                        if !values.contains(out) {
                            self.problem(
                                Code::Transform,
                                format!("map gives '{out}', which is not one of the token's values"),
                                at,
                                "transform",
                            )
                            .hint = Some(format!("values: {}", values.join(", ")));
                        }
                    }
                }
                Transform::Map(pairs.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            }
            TransformSpec::SyslogSeverity => Transform::SyslogSeverity,
            TransformSpec::Before(sep) => Transform::Before(sep.clone()),
            TransformSpec::After(sep) => Transform::After(sep.clone()),
            TransformSpec::BeforeLast(sep) => Transform::BeforeLast(sep.clone()),
            TransformSpec::Only(values) => {
                for value in values {
                    if let Err(why) = crate::value::check(value, ty) {
                        let message = format!("only lists '{value}', which is not a valid {}: {why}", ty.name());
                        self.problem(Code::Transform, message, at, "transform");
                    }
                }
                Transform::Only(values.clone())
            }
        };
        Some(t)
    }
}

fn part_name(part: Part) -> &'static str {
    match part {
        Part::Ip => "ip",
        Part::Port => "port",
        Part::Outcome => "outcome",
        Part::Reason => "reason",
    }
}
