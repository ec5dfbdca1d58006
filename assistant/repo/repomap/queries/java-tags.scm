; Tag query for Java, written for assistant's repo map.

(class_declaration name: (identifier) @name) @definition.class
(record_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.interface
(annotation_type_declaration name: (identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum
(method_declaration name: (identifier) @name) @definition.method
(constructor_declaration name: (identifier) @name) @definition.constructor
(class_body (field_declaration declarator: (variable_declarator name: (identifier) @name)) @definition.field)
(interface_body (constant_declaration declarator: (variable_declarator name: (identifier) @name)) @definition.constant)

(method_invocation name: (identifier) @reference.call)
(method_invocation object: (identifier) @reference.class)
(object_creation_expression type: (type_identifier) @reference.class)
(type_identifier) @reference.type
(field_access field: (identifier) @reference.attribute)
(marker_annotation name: (identifier) @reference.class)
(annotation name: (identifier) @reference.class)
