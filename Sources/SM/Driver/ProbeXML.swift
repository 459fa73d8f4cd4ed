/// The probe documents of the reference, written exactly as Python's
/// `xml.dom.minidom.Document.toprettyxml()` writes them (tab indents, one element per line,
/// text inline, `&`, `<`, `>` and `"` escaped), since toolstacks and scripts parse them.
///
/// ```
/// <?xml version="1.0" ?>
/// <SRlist>
/// 	<SR>
/// 		<UUID>…</UUID>
/// 		<Devlist>/dev/sdb</Devlist>
/// 		<size>10737418240</size>
/// 	</SR>
/// </SRlist>
/// ```
public enum ProbeXML {
    /// One `<SR>` entry of an `<SRlist>`: its child elements, in order, each with text.
    public struct SREntry: Hashable, Sendable {
        public var fields: [(name: String, text: String)]

        public init(_ fields: [(name: String, text: String)]) { self.fields = fields }

        public static func == (lhs: SREntry, rhs: SREntry) -> Bool {
            lhs.fields.map(\.name) == rhs.fields.map(\.name) && lhs.fields.map(\.text) == rhs.fields.map(\.text)
        }

        public func hash(into hasher: inout Hasher) {
            for field in fields {
                hasher.combine(field.name)
                hasher.combine(field.text)
            }
        }
    }

    /// `<SRlist>` with one `<SR>` per entry (`<SRlist/>` when there is none), as
    /// `lvutil.srlist_toxml` prints it.
    public static func srList(_ entries: [SREntry]) -> String {
        var text = "<?xml version=\"1.0\" ?>\n"
        guard !entries.isEmpty else { return text + "<SRlist/>\n" }
        text += "<SRlist>\n"
        for entry in entries {
            guard !entry.fields.isEmpty else {
                text += "\t<SR/>\n"
                continue
            }
            text += "\t<SR>\n"
            for field in entry.fields {
                // minidom writes an element holding one text node inline, even an empty one.
                text += "\t\t<\(field.name)>\(escaped(field.text))</\(field.name)>\n"
            }
            text += "\t</SR>\n"
        }
        return text + "</SRlist>\n"
    }

    /// minidom's text escaping: `&`, `<`, `"` and `>`.
    public static func escaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            default: result.unicodeScalars.append(character)
            }
        }
        return result
    }
}
