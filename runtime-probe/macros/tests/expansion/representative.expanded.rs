fn shrink(&self, exit: &Barrier) -> Result<usize, Error> {
    static __WG_FUNCTION: ::waitgraph::__macro_support::Function = ::waitgraph::__macro_support::Function {
        context: ::waitgraph::context::Context::new(
            "Pool::shrink",
            ::core::file!(),
            ::core::line!(),
        ),
        roles: ::waitgraph::__macro_support::Roles {
            acquires: ::core::option::Option::None,
            releases: ::core::option::Option::None,
            waits_for: ::core::option::Option::Some("workers-exit"),
            schedules: ::core::option::Option::None,
            job: ::core::option::Option::None,
            serves: ::core::option::Option::None,
        },
    };
    match ::waitgraph::__macro_support::enter(&__WG_FUNCTION) {
        __wg_scope => {
            let mut state = {
                #[allow(unused_imports)]
                use ::waitgraph::__macro_support::{
                    Select0 as _, Select1 as _, Select2 as _, Select3 as _, Select4 as _,
                };
                static __WG_AT: ::waitgraph::__macro_support::Receiver = ::waitgraph::__macro_support::Receiver {
                    module: ::core::module_path!(),
                    function: "shrink",
                    text: "self.state",
                };
                let __wg_token = (&&&&&::waitgraph::__macro_support::probe::<
                    ::waitgraph::__macro_support::group::Lock,
                    _,
                >(|| &(self.state)))
                    .__wg_select();
                if __wg_token.via() {
                    __wg_token
                        .instrumented(
                            __wg_token
                                .lock(
                                    &(self.state),
                                    &__WG_AT,
                                    ::core::option::Option::Some(::core::any::type_name::<Self>),
                                ),
                        )
                } else {
                    __wg_token.as_written((self.state).lock())
                }
            }
                .unwrap();
            while state.busy > 0 {
                state = match (state,) {
                    (__wg_arg0,) => {
                        #[allow(unused_imports)]
                        use ::waitgraph::__macro_support::{
                            Select0 as _, Select1 as _, Select2 as _, Select3 as _,
                            Select4 as _,
                        };
                        static __WG_AT: ::waitgraph::__macro_support::Receiver = ::waitgraph::__macro_support::Receiver {
                            module: ::core::module_path!(),
                            function: "shrink",
                            text: "self.changed",
                        };
                        let __wg_token = (&&&&&::waitgraph::__macro_support::probe::<
                            ::waitgraph::__macro_support::group::Condvar,
                            _,
                        >(|| &(self.changed)))
                            .__wg_select();
                        if __wg_token.via() {
                            __wg_token
                                .instrumented(
                                    __wg_token
                                        .wait(
                                            &(self.changed),
                                            __wg_arg0,
                                            &__WG_AT,
                                            ::core::option::Option::Some(::core::any::type_name::<Self>),
                                        ),
                                )
                        } else {
                            __wg_token
                                .as_written(
                                    (self.changed).wait(__wg_token.guard_arg(__wg_arg0)),
                                )
                        }
                    }
                }
                    .unwrap();
            }
            match self.queue()? {
                ref mut __wg_recv => {
                    match (Job::Exit,) {
                        (__wg_arg0,) => {
                            #[allow(unused_imports)]
                            use ::waitgraph::__macro_support::{
                                Select0 as _, Select1 as _, Select2 as _, Select3 as _,
                                Select4 as _,
                            };
                            static __WG_AT: ::waitgraph::__macro_support::Receiver = ::waitgraph::__macro_support::Receiver {
                                module: ::core::module_path!(),
                                function: "shrink",
                                text: "self.queue()?",
                            };
                            let __wg_token = (&&&&&::waitgraph::__macro_support::probe::<
                                ::waitgraph::__macro_support::group::Send,
                                _,
                            >(|| &(*__wg_recv)))
                                .__wg_select();
                            if __wg_token.via() {
                                __wg_token
                                    .instrumented(
                                        __wg_token
                                            .send(
                                                &(*__wg_recv),
                                                __wg_arg0,
                                                &__WG_AT,
                                                ::core::option::Option::None,
                                            ),
                                    )
                            } else {
                                __wg_token.as_written((*__wg_recv).send(__wg_arg0))
                            }
                        }
                    }
                }
            }?;
            Ok(state.workers)
        }
    }
}
