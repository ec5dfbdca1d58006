; Tag query for Ruby, written for assistant's repo map.

(class name: (constant) @name) @definition.class
(class name: (scope_resolution name: (constant) @name)) @definition.class
(module name: (constant) @name) @definition.module
(module name: (scope_resolution name: (constant) @name)) @definition.module
(method name: (_) @name) @definition.method
(singleton_method name: (_) @name) @definition.method
(assignment left: (constant) @name) @definition.constant
(call method: (identifier) @_attr arguments: (argument_list (simple_symbol) @name)
  (#match? @_attr "^attr_(reader|writer|accessor)$")) @definition.attribute

(call method: (identifier) @reference.call)
(call receiver: (constant) @reference.class)
(superclass (constant) @reference.class)
(superclass (scope_resolution name: (constant) @reference.class))
(scope_resolution name: (constant) @reference.class)
(body_statement (identifier) @reference.call)
(argument_list (constant) @reference.class)
