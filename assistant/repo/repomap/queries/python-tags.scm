; Tag query for Python, written for assistant's repo map.
; Definitions: @definition.<kind> on the whole node, @name on its name.
; References: @reference.<kind> on the referring identifier.

(class_definition name: (identifier) @name) @definition.class

(class_definition
  body: (block
    [(function_definition name: (identifier) @name) @definition.method
     (decorated_definition
       definition: (function_definition name: (identifier) @name) @definition.method)]))

(function_definition name: (identifier) @name) @definition.function

(module
  (expression_statement
    (assignment left: (identifier) @name) @definition.constant))

(module
  (expression_statement
    (assignment left: (identifier) @name type: (type)) @definition.variable))

(call function: (identifier) @reference.call)
(call function: (attribute attribute: (identifier) @reference.call))
(decorator (identifier) @reference.call)
(decorator (attribute attribute: (identifier) @reference.call))
(class_definition superclasses: (argument_list (identifier) @reference.class))
(class_definition superclasses: (argument_list (attribute attribute: (identifier) @reference.class)))
(type (identifier) @reference.type)
(type (attribute attribute: (identifier) @reference.type))
(generic_type (identifier) @reference.type)
(subscript value: (identifier) @reference.type)
(import_from_statement name: (dotted_name (identifier) @reference.import))
(import_from_statement name: (aliased_import name: (dotted_name (identifier) @reference.import)))
(attribute attribute: (identifier) @reference.attribute)
(argument_list (identifier) @reference.argument)
(keyword_argument value: (identifier) @reference.argument)
