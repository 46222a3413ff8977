//! A writer schema compiled into a flat plan the decoder walks.
//!
//! apache-avro parses and checks the schema JSON; this module turns its tree into
//! an arena of [`Node`]s (named types resolved to indices, so recursive schemas
//! are plain cycles) and resolves dotted field paths the way wardstream's Python
//! `serde.paths.field_index` does: through records and `["null", record]` unions.

use std::collections::HashMap;

use apache_avro::schema::{Name, Schema};

pub type NodeId = usize;

/// One type of the writer schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed(usize),
    Enum(Vec<String>),
    Array(NodeId),
    Map(NodeId),
    Union(Vec<NodeId>),
    Record(Vec<(String, NodeId)>),
    Date,
    TimestampMillis,
    TimestampMicros,
    /// A named type whose definition is being compiled (only during compilation).
    Pending,
}

/// Why a schema or a path cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaError {
    /// Not valid Avro JSON (apache-avro's message).
    Invalid(String),
    /// The top-level type is not a record.
    NotRecord,
    /// A type the native decoder does not handle (e.g. a `uuid` logical type).
    Unsupported(String),
    /// A path that is not a field of the schema.
    UnknownPath(String),
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(msg) => write!(f, "not a valid Avro schema: {msg}"),
            Self::NotRecord => write!(f, "the top-level schema is not a record"),
            Self::Unsupported(what) => write!(f, "the native decoder does not support {what}"),
            Self::UnknownPath(path) => write!(f, "the schema has no field {path}"),
        }
    }
}

/// A compiled writer schema.
#[derive(Debug, Clone)]
pub struct Plan {
    pub nodes: Vec<Node>,
    pub root: NodeId,
    /// The record's full name (`namespace.Name`), as error messages give it.
    pub name: String,
    /// Whether a node's encoding is always zero bytes (null, empty records, fixed(0)).
    pub zero_width: Vec<bool>,
}

impl Plan {
    pub fn parse(json: &str) -> Result<Plan, SchemaError> {
        let schema = Schema::parse_str(json).map_err(|e| SchemaError::Invalid(e.to_string()))?;
        let name = match &schema {
            Schema::Record(r) => r.name.fullname(None),
            _ => return Err(SchemaError::NotRecord),
        };
        let mut c = Compiler {
            nodes: Vec::new(),
            named: HashMap::new(),
        };
        let root = c.compile(&schema, &None)?;
        let zero_width = zero_widths(&c.nodes);
        Ok(Plan {
            nodes: c.nodes,
            root,
            name,
            zero_width,
        })
    }

    /// Field indices from the root record to the field at a dotted path.
    pub fn path(&self, path: &str) -> Result<Vec<usize>, SchemaError> {
        let unknown = || SchemaError::UnknownPath(path.to_string());
        let mut node = Some(self.root);
        let mut steps = Vec::new();
        for part in path.split('.') {
            let fields = match node.map(|id| &self.nodes[id]) {
                Some(Node::Record(fields)) => fields,
                _ => return Err(unknown()),
            };
            let index = fields
                .iter()
                .position(|(n, _)| n == part)
                .ok_or_else(unknown)?;
            steps.push(index);
            node = self.record_of(fields[index].1);
        }
        Ok(steps)
    }

    /// The type of the field at `steps` (field indices, as `path` gives them).
    pub fn field(&self, steps: &[usize]) -> Option<NodeId> {
        let mut node = self.root;
        for (level, &index) in steps.iter().enumerate() {
            let record = if level == 0 {
                node
            } else {
                self.record_of(node)?
            };
            match &self.nodes[record] {
                Node::Record(fields) => node = fields.get(index)?.1,
                _ => return None,
            }
        }
        Some(node)
    }

    /// The index of the null branch of a union type (None: not a union with null).
    pub fn null_branch(&self, id: NodeId) -> Option<usize> {
        match &self.nodes[id] {
            Node::Union(branches) => branches.iter().position(|&b| self.nodes[b] == Node::Null),
            _ => None,
        }
    }

    /// Whether every union has at most one branch besides null, so a writer given a
    /// decoded value (fastavro picks the first branch the value fits) always picks the
    /// branch it was read from: re-encoding a canonical value gives its bytes back.
    pub fn unions_unambiguous(&self) -> bool {
        self.nodes.iter().all(|node| match node {
            Node::Union(branches) => {
                branches
                    .iter()
                    .filter(|&&b| self.nodes[b] != Node::Null)
                    .count()
                    <= 1
            }
            _ => true,
        })
    }

    /// The record a field holds: a record, or a union of null and exactly one record.
    fn record_of(&self, id: NodeId) -> Option<NodeId> {
        match &self.nodes[id] {
            Node::Record(_) => Some(id),
            Node::Union(branches) => {
                let others: Vec<_> = branches
                    .iter()
                    .filter(|&&b| self.nodes[b] != Node::Null)
                    .collect();
                match others.as_slice() {
                    [&only] if matches!(self.nodes[only], Node::Record(_)) => Some(only),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

struct Compiler {
    nodes: Vec<Node>,
    named: HashMap<String, NodeId>,
}

impl Compiler {
    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn declare(&mut self, name: &Name, ns: &Option<String>) -> (NodeId, Option<String>) {
        let id = self.push(Node::Pending);
        self.named.insert(name.fullname(ns.clone()), id);
        (id, name.namespace.clone().or_else(|| ns.clone()))
    }

    fn compile(&mut self, schema: &Schema, ns: &Option<String>) -> Result<NodeId, SchemaError> {
        let node = match schema {
            Schema::Null => Node::Null,
            Schema::Boolean => Node::Boolean,
            Schema::Int => Node::Int,
            Schema::Long => Node::Long,
            Schema::Float => Node::Float,
            Schema::Double => Node::Double,
            Schema::Bytes => Node::Bytes,
            Schema::String => Node::String,
            Schema::Date => Node::Date,
            Schema::TimestampMillis => Node::TimestampMillis,
            Schema::TimestampMicros => Node::TimestampMicros,
            Schema::Array(a) => Node::Array(self.compile(&a.items, ns)?),
            Schema::Map(m) => Node::Map(self.compile(&m.types, ns)?),
            Schema::Union(u) => {
                let branches = u.variants().iter().map(|b| self.compile(b, ns));
                Node::Union(branches.collect::<Result<_, _>>()?)
            }
            Schema::Ref { name } => {
                let full = name.fullname(ns.clone());
                return self
                    .named
                    .get(&full)
                    .copied()
                    .ok_or(SchemaError::Invalid(full));
            }
            Schema::Enum(e) => {
                let (id, _) = self.declare(&e.name, ns);
                self.nodes[id] = Node::Enum(e.symbols.clone());
                return Ok(id);
            }
            Schema::Fixed(f) => {
                let (id, _) = self.declare(&f.name, ns);
                self.nodes[id] = Node::Fixed(f.size);
                return Ok(id);
            }
            Schema::Record(r) => {
                let (id, inner) = self.declare(&r.name, ns);
                let mut fields = Vec::with_capacity(r.fields.len());
                for field in &r.fields {
                    fields.push((field.name.clone(), self.compile(&field.schema, &inner)?));
                }
                self.nodes[id] = Node::Record(fields);
                return Ok(id);
            }
            other => {
                let what = format!(
                    "the logical type {:?}",
                    apache_avro::schema::SchemaKind::from(other)
                );
                return Err(SchemaError::Unsupported(what));
            }
        };
        Ok(self.push(node))
    }
}

fn zero_widths(nodes: &[Node]) -> Vec<bool> {
    // 0 = unknown, 1 = in progress (a cycle is never zero-width), 2 = no, 3 = yes
    fn visit(id: NodeId, nodes: &[Node], memo: &mut [u8]) -> bool {
        match memo[id] {
            1 | 2 => return false,
            3 => return true,
            _ => {}
        }
        memo[id] = 1;
        let zero = match &nodes[id] {
            Node::Null => true,
            Node::Fixed(size) => *size == 0,
            Node::Record(fields) => fields.iter().all(|(_, f)| visit(*f, nodes, memo)),
            _ => false,
        };
        memo[id] = if zero { 3 } else { 2 };
        zero
    }
    let mut memo = vec![0u8; nodes.len()];
    (0..nodes.len())
        .map(|id| visit(id, nodes, &mut memo))
        .collect()
}
