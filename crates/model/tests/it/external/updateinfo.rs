//! updateinfo corpus (to come)
