"""Pure domain code: no pymongo, nameko or marshmallow here."""
