//! `--graphics`, `--video` and `--input`.

use super::{SpecError, parse_all};

/// The display server QEMU offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GraphicsKind {
    /// No display; the serial console is the way in.
    None,
    /// VNC.
    Vnc,
    /// SPICE.
    Spice,
}

/// Where the display server listens.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Listen {
    /// A TCP address (`127.0.0.1` unless the user says otherwise).
    Address(String),
    /// No listener at all (`listen=none`).
    None,
}

/// `--graphics`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Graphics {
    /// The kind.
    pub kind: GraphicsKind,
    /// `listen=`.
    pub listen: Listen,
    /// `port=`; `None` picks a free port.
    pub port: Option<u16>,
    /// `password=`: set over QMP, never on QEMU's command line.
    pub password: Option<String>,
    /// `keymap=`.
    pub keymap: Option<String>,
}

impl Graphics {
    /// The default display: VNC on loopback. (virt-install's upstream
    /// default is SPICE, but builds without SPICE use VNC, and VNC needs
    /// nothing QEMU may lack.)
    pub fn default_display() -> Graphics {
        Graphics {
            kind: GraphicsKind::Vnc,
            listen: Listen::Address("127.0.0.1".into()),
            port: None,
            password: None,
            keymap: None,
        }
    }

    /// Reads `--graphics`.
    pub fn from_args(values: &[String]) -> Result<Graphics, SpecError> {
        refuse_several("graphics", values)?;
        let mut graphics = Graphics::default_display();
        for mut opts in parse_all("graphics", values)? {
            if opts.is_none() {
                graphics.kind = GraphicsKind::None;
                continue;
            }
            let raw = opts.raw().to_string();
            let invalid = |reason: String| SpecError::Value {
                option: "graphics",
                raw: raw.clone(),
                reason,
            };
            graphics.kind = match opts.take("type").as_deref() {
                None | Some("default") | Some("vnc") => GraphicsKind::Vnc,
                Some("spice") => GraphicsKind::Spice,
                Some("none") => GraphicsKind::None,
                Some(other @ ("sdl" | "egl-headless" | "dbus" | "rdp")) => {
                    return Err(SpecError::Unsupported {
                        options: vec![format!("--graphics {other}")],
                    });
                }
                Some(other) => return Err(invalid(format!("Unknown graphics type '{other}'"))),
            };
            if let Some(listen) = opts.take("listen") {
                graphics.listen = match listen.as_str() {
                    "none" => Listen::None,
                    "socket" => {
                        return Err(SpecError::Unsupported {
                            options: vec!["--graphics listen=socket".into()],
                        });
                    }
                    address => Listen::Address(address.to_string()),
                };
            }
            if let Some(port) = opts.take_parsed::<i32>("port")? {
                graphics.port = match port {
                    -1 => None,
                    5900..=65535 => Some(port as u16),
                    _ => {
                        return Err(invalid(
                            "Port must be above 5900, or -1 for auto allocation".into(),
                        ));
                    }
                };
            }
            // A TLS port is refused as not supported yet, but a bad one is
            // refused first, in virt-install's words.
            if let Some(port) = opts.take_parsed::<i32>("tlsPort")? {
                if port != -1 && !(5900..=65535).contains(&port) {
                    return Err(invalid(
                        "TLS Port must be above 5900, or -1 for auto allocation".into(),
                    ));
                }
                return Err(SpecError::Unsupported {
                    options: vec!["--graphics tlsPort".into()],
                });
            }
            if let Some(password) = opts.take("password") {
                graphics.password = Some(password);
            }
            match opts.take("keymap").as_deref() {
                None | Some("local") | Some("none") => {}
                Some(keymap) => graphics.keymap = Some(keymap.to_string()),
            }
            opts.finish()?;
        }
        Ok(graphics)
    }
}

/// `--video` models QEMU can give an x86 guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum VideoModel {
    /// `virtio-vga`.
    Virtio,
    /// `qxl-vga`.
    Qxl,
    /// Standard VGA.
    Vga,
    /// `cirrus-vga`.
    Cirrus,
    /// `vmware-svga`.
    Vmvga,
    /// `bochs-display`.
    Bochs,
    /// `ramfb`.
    Ramfb,
    /// No video device.
    None,
}

/// Reads `--video`.
pub fn video_from_args(values: &[String]) -> Result<Option<VideoModel>, SpecError> {
    refuse_several("video", values)?;
    let mut video = None;
    for mut opts in parse_all("video", values)? {
        if opts.is_none() {
            continue;
        }
        let model = opts.take("model.type");
        video = match model.as_deref() {
            None | Some("default") => None,
            Some("virtio") => Some(VideoModel::Virtio),
            Some("qxl") => Some(VideoModel::Qxl),
            Some("vga") => Some(VideoModel::Vga),
            Some("cirrus") => Some(VideoModel::Cirrus),
            Some("vmvga") => Some(VideoModel::Vmvga),
            Some("bochs") => Some(VideoModel::Bochs),
            Some("ramfb") => Some(VideoModel::Ramfb),
            Some("none") => Some(VideoModel::None),
            Some(other) => {
                return Err(SpecError::Value {
                    option: "video",
                    raw: opts.raw().to_string(),
                    reason: format!("Unknown video model '{other}'"),
                });
            }
        };
        opts.finish()?;
    }
    Ok(video)
}

/// What an input device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    /// An absolute pointer.
    Tablet,
    /// A keyboard.
    Keyboard,
    /// A relative pointer.
    Mouse,
}

/// The bus an input device sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputBus {
    /// USB.
    Usb,
    /// virtio.
    Virtio,
    /// The PS/2 controller every PC has: its keyboard and mouse are built in.
    Ps2,
}

/// One `--input`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Input {
    /// The kind.
    pub kind: InputKind,
    /// The bus.
    pub bus: InputBus,
}

/// Reads every `--input`; `None` when none was given, so the guest gets
/// virt-install's USB tablet with its display. `--input none` alone gives
/// no input device beyond the PC's PS/2 ones.
pub fn inputs_from_args(values: &[String]) -> Result<Option<Vec<Input>>, SpecError> {
    if values.is_empty() {
        return Ok(None);
    }
    let mut inputs = Vec::new();
    for mut opts in parse_all("input", values)? {
        if opts.is_none() {
            continue;
        }
        let raw = opts.raw().to_string();
        let invalid = |reason: String| SpecError::Value {
            option: "input",
            raw: raw.clone(),
            reason,
        };
        let kind = match opts.take("type").as_deref() {
            None | Some("tablet") => InputKind::Tablet,
            Some("keyboard") => InputKind::Keyboard,
            Some("mouse") => InputKind::Mouse,
            Some(other @ ("evdev" | "passthrough")) => {
                return Err(SpecError::Unsupported {
                    options: vec![format!("--input {other}")],
                });
            }
            Some(other) => return Err(invalid(format!("Unknown input type '{other}'"))),
        };
        let bus = match (opts.take("bus").as_deref(), kind) {
            (None, InputKind::Tablet) | (Some("usb"), _) => InputBus::Usb,
            (None, _) | (Some("ps2"), InputKind::Keyboard | InputKind::Mouse) => InputBus::Ps2,
            (Some("virtio"), _) => InputBus::Virtio,
            (Some("ps2"), InputKind::Tablet) => {
                return Err(invalid(
                    "ps2 bus does not support tablet input device".into(),
                ));
            }
            (Some(other), _) => return Err(invalid(format!("Unknown input bus '{other}'"))),
        };
        opts.finish()?;
        inputs.push(Input { kind, bus });
    }
    Ok(Some(inputs))
}

/// virt-install makes a device of every `--OPTION`; qvirt has one display
/// and one video device so far.
fn refuse_several(option: &str, values: &[String]) -> Result<(), SpecError> {
    match values.len() {
        0 | 1 => Ok(()),
        _ => Err(SpecError::Unsupported {
            options: vec![format!("more than one --{option}")],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graphics(raw: &str) -> Result<Graphics, SpecError> {
        Graphics::from_args(&[raw.to_string()])
    }

    #[test]
    fn kinds_and_keys() {
        let g = graphics("vnc,listen=0.0.0.0,port=5901,password=s3cret").expect("parses");
        assert_eq!(g.kind, GraphicsKind::Vnc);
        assert_eq!(g.listen, Listen::Address("0.0.0.0".into()));
        assert_eq!(
            (g.port, g.password.as_deref()),
            (Some(5901), Some("s3cret"))
        );
        assert_eq!(graphics("spice").expect("parses").kind, GraphicsKind::Spice);
        assert_eq!(graphics("none").expect("parses").kind, GraphicsKind::None);
        assert_eq!(graphics("vnc,port=-1").expect("parses").port, None);
    }

    #[test]
    fn bad_port_in_virt_install_words() {
        let error = graphics("vnc,port=-50").expect_err("bad port").to_string();
        assert_eq!(
            error,
            "Error: --graphics vnc,port=-50: Port must be above 5900, or -1 for auto allocation"
        );
    }

    #[test]
    fn tls_ports() {
        let error = graphics("spice,tlsport=5").expect_err("bad").to_string();
        assert!(error.ends_with("TLS Port must be above 5900, or -1 for auto allocation"));
        let error = graphics("spice,tlsPort=5901")
            .expect_err("later")
            .to_string();
        assert_eq!(error, "--graphics tlsPort is not supported yet");
    }

    #[test]
    fn inputs() {
        let input = |kind, bus| Input { kind, bus };
        let cases = [
            ("tablet", input(InputKind::Tablet, InputBus::Usb)),
            ("keyboard", input(InputKind::Keyboard, InputBus::Ps2)),
            ("mouse,bus=usb", input(InputKind::Mouse, InputBus::Usb)),
            (
                "type=keyboard,bus=virtio",
                input(InputKind::Keyboard, InputBus::Virtio),
            ),
        ];
        for (raw, want) in cases {
            let got = inputs_from_args(&[raw.to_string()]).expect(raw);
            assert_eq!(got, Some(vec![want]), "{raw}");
        }
        assert_eq!(inputs_from_args(&[]).expect("none given"), None);
        assert_eq!(
            inputs_from_args(&["none".into()]).expect("none"),
            Some(vec![])
        );
        for raw in ["tablet,bus=ps2", "joystick", "mouse,bus=serial"] {
            assert!(inputs_from_args(&[raw.to_string()]).is_err(), "{raw}");
        }
    }

    #[test]
    fn video_models() {
        let video = video_from_args(&["model=qxl".into()]).expect("parses");
        assert_eq!(video, Some(VideoModel::Qxl));
        assert!(video_from_args(&["foo".into()]).is_err());
        let several = video_from_args(&["virtio".into(), "qxl".into()]).expect_err("refused");
        assert_eq!(
            several.to_string(),
            "more than one --video is not supported yet"
        );
    }
}
